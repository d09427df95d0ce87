"""The takeover grace of one cluster's slurmctld: which silent rounds are a takeover (held
back as up) and where a silence that outlasts it began.

A takeover has a moment in which no controller answers ping (the backup switches to
control; seen in 3 of 40 pings on a real cluster) while Slurm's own clients retry through
it. Within ``takeover_grace_seconds`` of a backup serving, such a round keeps the service
up; a longer silence is an outage, dated from its first silent round, not from the end of
the grace. Everything about a silence (its first round, the rounds held back, whether the
grace is spent) is owned here; :class:`monitor.health.ClusterHealth` asks. No I/O, no
clock: times come from the observations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from monitor.config import MonitorSettings
from monitor.observation import ActiveInstance, Condition, ServiceObservation, State


class TakeoverGrace:
    def __init__(self, settings: MonitorSettings) -> None:
        self.settings = settings  # replaced by a reload (retune)
        self._backup_served_at: dt.datetime | None = None
        self._silent_since: dt.datetime | None = None  # first no-controller round in grace
        self._silent_held = 0  # no-controller rounds the grace has held back since then
        # A silence outlasted the grace of the backup that served last: the takeover failed
        # and the grace holds nothing more until a controller serves again
        self._spent = False

    @property
    def held_since(self) -> dt.datetime | None:
        """The first round of a silence the grace is holding (or held) back."""
        return self._silent_since

    def through(
        self, svc: ServiceObservation, at: dt.datetime, active: ActiveInstance | None
    ) -> ServiceObservation:
        """slurmctld's round as the service's verdict takes it: a silent round within the
        grace becomes an up one (``active``: the instance confirmed serving)."""
        if svc.service != "slurmctld":
            return svc
        if svc.condition is Condition.FAILOVER:
            self._backup_served_at = at
            self._forget()
            return svc
        if svc.condition is Condition.OK:
            self._backup_served_at = None  # the primary serves: no takeover under way
            self._forget()
            return svc
        if svc.condition is Condition.BLIND:
            # A round that could not see says nothing either way: the silence before it
            # stands (forgetting it dated a longer silence from after the blind round).
            return svc
        if svc.condition is not Condition.NO_CONTROLLER:
            self._silent_since, self._silent_held = None, 0  # a controller answered
            return svc
        if self._backup_served_at is not None and self._silent_since is None:
            self._silent_since = at
        grace = dt.timedelta(seconds=self.settings.takeover_grace_seconds)
        # The silence lasted at least as long as the ping waited for an answer.
        last_silent = at + dt.timedelta(seconds=svc.evidence_seconds)
        served = self._backup_served_at
        within = served is not None and last_silent - served <= grace
        if served is not None and not within:
            self._spent = True
        # Once spent, a grace lengthened by a reload (retune) does not hold the silence again:
        # that turned an outage already confirmed back into a takeover, counted up
        if within and not self._spent:
            # Held back, not forgotten: once the silence outlasts the grace, each held
            # round is an observation of the outage (Slurm 24.11+'s ~28 s failback, seen by
            # a ping that waits 20 s, must still reach the failure threshold).
            self._silent_held += self.weight(svc)
            return replace(
                svc, state=State.UP, condition=Condition.FAILOVER, up=True, active=active
            )
        return svc

    def silence(self, svc: ServiceObservation) -> tuple[dt.datetime | None, int]:
        """For the service's hysteresis, a silent round (``svc`` as ``through`` returned
        it): where the silence began and how many more rounds it stands for (the held ones,
        and this round's extra weight); (None, 0) for any other round."""
        if svc.service != "slurmctld" or svc.up is not False:  # blind is not silence
            return None, 0
        return self._silent_since, self._silent_held + self.weight(svc) - 1

    def blind_confirmed(self) -> None:
        """The service is unknown, blind (confirmed, or it already was): the ledger holds
        the blind stretch as unknown, so a silence held before it cannot be the start of an
        outage any more (its verdict, dated there, overwrote the blind stretch as down). A
        silence after it is dated from its own first round."""
        self._silent_since, self._silent_held = None, 0

    def weight(self, svc: ServiceObservation) -> int:
        """How many observations a no-controller answer stands for. After a failover (a
        backup served), one per interval its ping waited: a failback that silences both
        controllers for ~28 s (24.11+) is seen by a single 20 s ping. While the primary
        served, one: a primary frozen or killed, and a backup not yet in control, is the
        takeover window, judged as the ping rule judges it (a failover), not an outage."""
        if self._backup_served_at is None:
            return 1
        return max(1, int(svc.evidence_seconds // self.settings.interval_seconds))

    def _forget(self) -> None:
        self._silent_since, self._silent_held, self._spent = None, 0, False

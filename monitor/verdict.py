"""The verdict: from one round of probe results to a :class:`ClusterObservation`. Pure.

The rules, in the order they decide (also in the README, "How the verdict is reached"):

* Ping is judged per line, never by exit code. A controller that answers is up; one that
  does not is down (``unreachable``).
* If the ping failed to authenticate, or a binary is missing, the monitor is blind: every
  daemon is ``unknown`` with that reason, never ``down``.
* Through a slurmrestd that cannot say "no controller answered" apart from a refused token
  (22.05), with ``readyz = true``: a ping with no answer while every controller's host
  refuses a connection to its SlurmctldPort is no controller (down); an accepted or timed
  out connect proves nothing, and ping's blindness stands.
* The serving controller: a primary that answers serves (a backup hands control back when
  the primary returns). Otherwise the first answering backup serves, unless controller RPCs
  (``sdiag``, ``scontrol show config``) answer "backup controller in standby mode": then
  the primary is alive but cut off from the backup, which refuses to take over
  (split-brain protection), and no controller serves. slurmdbd's ControlHost lags a
  failback by a minute or more and is only reported, never used over a fresh ping.
* On Slurm 25.11+, before that rule: the controller whose ``/readyz`` answers 204 (and that
  answers ping) is in control, even when the primary answers ping too (a failback under
  way). Without a 204 from any (a takeover under way, a firewall) the ping rule decides.
* slurmdbd: the service is up when ``sacctmgr`` (``ping`` on 24.11+, else ``show stats``)
  gets an answer. Instances come from ``sacctmgr ping`` where Slurm has it; before 24.11 a
  TCP connect to each DbdHost port tells which one listens. A standby backup slurmdbd does
  not listen at all, so while the primary listens the backup is ``unknown`` (``standby``),
  unless a local process check on its host says more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from monitor.config import ClusterConfig, Thresholds
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    DaemonObservation,
    LocalProcess,
    ProbeError,
    Reason,
    ServiceObservation,
    State,
)
from monitor.parsers.cluster import ClusterList
from monitor.parsers.ping import Ping, PingReport
from monitor.parsers.sdiag.model import SdiagResult
from monitor.parsers.show_config import SlurmConfig
from monitor.probes.base import ProbeResult
from monitor.probes.ctl_listen import ListenReport
from monitor.probes.readyz import ReadyReport
from monitor.topology import Topology

T = TypeVar("T")
_BLINDING = (Reason.AUTH, Reason.MISSING_BINARY)
# The probes whose answer says "backup controller in standby mode" (through the serving
# controller; ping is answered by a standby backup too).
_CONTROLLER_RPCS = ("sdiag", "show_config")


@dataclass(frozen=True)
class ProbeRound:
    cluster: ClusterConfig
    observed_at: dt.datetime
    results: Mapping[str, ProbeResult]
    topology: Topology = field(default_factory=Topology)
    local: Mapping[str, LocalProcess] = field(default_factory=dict)
    local_host: str | None = None  # this host's short name, for the local process checks


def evaluate(rnd: ProbeRound, thresholds: Thresholds) -> ClusterObservation:
    results = rnd.results
    config = _data(results.get("show_config"), SlurmConfig)
    sdiag = _data(results.get("sdiag"), SdiagResult)
    controllers, ctl_service = _slurmctld(rnd, thresholds, sdiag)
    dbds, dbd_service = _slurmdbd(rnd, thresholds, sdiag)
    services = {"slurmctld": ctl_service}
    if dbd_service is not None:
        services["slurmdbd"] = dbd_service
    errors = tuple(
        ProbeError(name, r.reason, r.message, r.started_at)
        for name, r in sorted(results.items())
        if r.reason is not None
    )
    blind = any(r.reason in _BLINDING for r in results.values())
    registered = _registered_controller(results.get("controlhost"), rnd.topology)
    return ClusterObservation(
        cluster=rnd.cluster.name,
        observed_at=rnd.observed_at,
        daemons=(*controllers, *dbds),
        services=services,
        # The JSON edge: ``probe --json`` and the scheduler collector read the document.
        statistics=sdiag.to_dict()["statistics"] if sdiag else None,
        blind=blind,
        errors=errors,
        boot_time=config.boot_time if config else None,
        slurm_version=config.version if config else None,
        registered_controller=registered,
        local_processes=tuple(rnd.local.values()),
    )


def _data(result: ProbeResult | None, kind: type[T]) -> T | None:
    """The parsed answer of a probe, if it gave one of this type."""
    if result is None or not isinstance(result.data, kind):
        return None
    return result.data


# --- slurmctld ---------------------------------------------------------------------------


def _slurmctld(
    rnd: ProbeRound, th: Thresholds, sdiag: SdiagResult | None
) -> tuple[list[DaemonObservation], ServiceObservation]:
    ping = _ping_seen(rnd.results)
    pings = _data(ping, PingReport)
    local = rnd.local.get("slurmctld")
    if ping is not None and pings is None and ping.reason not in _BLINDING:
        refused = _nothing_listens(rnd.results.get("ctl_listen"), ping)
        if refused is not None:
            return refused
    if ping is None or pings is None or ping.reason in _BLINDING:
        # Blind, or ping gave nothing usable: list the controllers we know, state unknown.
        why = (ping.reason if ping else Reason.COMMAND_FAILED) or Reason.PARSE
        daemons = [
            DaemonObservation("slurmctld", h, role, State.UNKNOWN, why)
            for h, role in rnd.topology.controllers
        ]
        return daemons, ServiceObservation(
            "slurmctld", State.UNKNOWN, Condition.BLIND, None, None, None, why
        )
    entries = pings.pings
    all_answer = all(e.responding for e in entries)
    latency = ping.duration_seconds if all_answer else None
    standby = _rpc_says_standby(rnd.results)
    serving = _in_control(_data(rnd.results.get("readyz"), ReadyReport), entries)
    source = "readyz"
    if serving is None:
        serving, source = _serving_controller(entries, standby), "ping"
    daemons = []
    for e in entries:
        if e.responding:
            state, reason = State.UP, None
            if latency is not None and latency > th.ping_latency_seconds:
                state, reason = State.DEGRADED, Reason.SLOW
            if serving is not None and e.hostname == serving.hostname:
                overload = _overloaded(sdiag, th)
                if overload is not None and state is State.UP:
                    state, reason = State.DEGRADED, overload
            elif standby and e.mode != "primary":
                reason = Reason.STANDBY
        else:
            state, reason = State.DOWN, Reason.UNREACHABLE
        if local is not None and local.running is False and _is_local(rnd, e.hostname):
            state, reason = State.DOWN, Reason.PROCESS_GONE
        daemons.append(
            DaemonObservation(
                "slurmctld",
                e.hostname,
                e.mode,
                state,
                reason,
                latency if e.responding else None,
            )
        )
    service = _ctl_service(daemons, serving, standby)
    return daemons, replace(service, evidence_seconds=ping.duration_seconds, active_source=source)


def _nothing_listens(
    listen: ProbeResult | None, ping: ProbeResult
) -> tuple[list[DaemonObservation], ServiceObservation] | None:
    """Ping got no answer and every controller's host refused a connection to its port, in
    the same round: no slurmctld runs, the CLI's verdict (``no_controller``). 22.05's
    slurmrestd says the same words for this and for a refused token; the refusal comes
    from the hosts' kernels, not through slurmrestd. A connect that is accepted (a frozen
    slurmctld) or times out (a host gone) proves nothing: None, and ping's blindness stands."""
    report = _data(listen, ListenReport)
    if listen is None or report is None or not report.nothing_listens:
        return None
    if listen.started_at < ping.started_at:
        return None  # from an earlier round's failure: not evidence about this one
    daemons = [
        DaemonObservation("slurmctld", a.hostname, a.role, State.DOWN, Reason.UNREACHABLE)
        for a in report.answers
    ]
    service = _ctl_service(daemons, None, standby=False)
    return daemons, replace(service, evidence_seconds=listen.duration_seconds)


def _ping_seen(results: Mapping[str, ProbeResult]) -> ProbeResult | None:
    """The ping result, blind when it cannot be believed: no controller answering while
    sdiag, in the same round, was refused for its credential. slurmrestd 24.11 answers a
    token Slurm refuses with every ping DOWN and nothing else (26.05 adds the status
    "Protocol authentication error"); only the diag's HTTP 511 says why."""
    ping, sdiag = results.get("ping"), results.get("sdiag")
    pings = _data(ping, PingReport)
    if ping is None or pings is None or pings.any_responding:
        return ping
    if sdiag is None or sdiag.reason is not Reason.AUTH:
        return ping
    return replace(ping, data=None, reason=Reason.AUTH, message=sdiag.message)


def _ctl_service(
    daemons: list[DaemonObservation], serving: ActiveInstance | None, standby: bool
) -> ServiceObservation:
    redundancy = all(d.answered for d in daemons)
    if serving is None:
        condition = Condition.SPLIT_BRAIN_PROTECTION if standby else Condition.NO_CONTROLLER
        reason = Reason.STANDBY if standby else Reason.UNREACHABLE
        return ServiceObservation(
            "slurmctld", State.DOWN, condition, False, redundancy, None, reason
        )
    active = next(d for d in daemons if d.hostname == serving.hostname)
    condition = Condition.OK if serving.role == "primary" else Condition.FAILOVER
    state = State.DEGRADED if active.state is State.DEGRADED else State.UP
    return ServiceObservation(
        "slurmctld",
        state,
        condition,
        True,
        redundancy,
        serving,
        active.reason if state is State.DEGRADED else None,
    )


def _serving_controller(entries: Sequence[Ping], standby: bool) -> ActiveInstance | None:
    answering = [e for e in entries if e.responding]
    if not answering:
        return None
    first = answering[0]
    if first.mode == "primary":
        return ActiveInstance(first.hostname, "primary")
    if standby:
        return None
    return ActiveInstance(first.hostname, first.mode)


def _in_control(ready: ReadyReport | None, entries: Sequence[Ping]) -> ActiveInstance | None:
    """Slurm 25.11+: the controller whose ``/readyz`` answers 204 is the one in control,
    whatever ping's order says (a primary back from the dead answers ping before the
    backup has handed control back). Only a positive answer is used: with no 204 (a
    takeover under way, a firewall in front of the port) the ping rule decides, as on
    every older release, so a frozen or cut-off primary gets the same verdict on all."""
    if ready is None:
        return None
    answering = {e.hostname for e in entries if e.responding}
    for answer in ready.in_control:
        if answer.hostname in answering:
            return ActiveInstance(answer.hostname, answer.role)
    return None


def _rpc_says_standby(results: Mapping[str, ProbeResult]) -> bool:
    return any(results[n].reason is Reason.STANDBY for n in _CONTROLLER_RPCS if n in results)


def _overloaded(sdiag: SdiagResult | None, th: Thresholds) -> Reason | None:
    if sdiag is None:
        return None
    if sdiag.server_thread_count > th.server_threads:
        return Reason.OVERLOADED
    if sdiag.agent_queue_size > th.agent_queue_size:
        return Reason.OVERLOADED
    return None


def _is_local(rnd: ProbeRound, hostname: str) -> bool:
    return rnd.local_host is not None and hostname == rnd.local_host


# --- slurmdbd ----------------------------------------------------------------------------


def _slurmdbd(
    rnd: ProbeRound, th: Thresholds, sdiag: SdiagResult | None
) -> tuple[list[DaemonObservation], ServiceObservation | None]:
    if not rnd.cluster.accounting:
        return [], None
    answer = rnd.results.get("dbd_ping") or rnd.results.get("dbd_stats")
    endpoints = [(role, host) for role, host, _ in rnd.topology.dbd]
    if answer is None:
        return [], None
    ping = _ping_seen(rnd.results)
    if answer.reason is not None and ping is not None and ping.reason is not None:
        if ping.reason is Reason.AUTH:
            # One credential for both (munge, or slurmrestd's token): refused by
            # slurmctld, a failed slurmdbd answer says nothing about slurmdbd (slurmrestd
            # reports a refused token as "Failed to open slurmdbd connection").
            answer = replace(answer, reason=Reason.AUTH)
        elif rnd.cluster.backend == "rest":
            # Through slurmrestd a failed slurmdbd answer is evidence only when the same
            # token worked on slurmctld: 22.05's says "Database connection reference is
            # invalid" for a refused token as for slurmdbd down.
            answer = replace(answer, reason=Reason.COMMAND_FAILED)
    if answer.reason in _BLINDING or answer.reason in (
        Reason.TIMEOUT,
        Reason.PARSE,
        Reason.COMMAND_FAILED,
    ):
        why = answer.reason
        daemons = [
            DaemonObservation("slurmdbd", h, role, State.UNKNOWN, why) for role, h in endpoints
        ]
        return daemons, ServiceObservation(
            "slurmdbd", State.UNKNOWN, Condition.BLIND, None, None, None, why
        )
    dbd_ping = _data(rnd.results.get("dbd_ping"), PingReport)
    if dbd_ping is not None:
        daemons = [
            DaemonObservation(
                "slurmdbd",
                e.hostname,
                e.mode,
                State.UP if e.responding else State.DOWN,
                None if e.responding else Reason.UNREACHABLE,
            )
            for e in dbd_ping.pings
        ]
        # `sacctmgr ping` lists a backup only while the primary does not answer: an instance
        # it leaves out is judged as before 24.11, by its port (a standby does not listen).
        listed = {d.hostname for d in daemons}
        if rnd.results.get("dbd_listen") is not None:
            daemons += [d for d in _dbd_from_listen(rnd, endpoints) if d.hostname not in listed]
    else:
        daemons = _dbd_from_listen(rnd, endpoints)
    return daemons, _dbd_service(answer, daemons, th, sdiag)


def _dbd_from_listen(rnd: ProbeRound, endpoints: list[tuple[str, str]]) -> list[DaemonObservation]:
    listen = rnd.results.get("dbd_listen")
    seen: dict[str, tuple[str, bool, str]] = (listen.data or {}) if listen else {}
    local = rnd.local.get("slurmdbd")
    primary_listens = seen.get("primary", ("", False, ""))[1]
    daemons = []
    for role, host in endpoints:
        if role not in seen:
            state, reason = State.UNKNOWN, Reason.COMMAND_FAILED
        elif seen[role][1]:
            state, reason = State.UP, None
        elif role != "primary" and primary_listens:
            # A standby backup does not listen: not listening proves nothing.
            state, reason = State.UNKNOWN, Reason.STANDBY
        else:
            state, reason = State.DOWN, Reason.UNREACHABLE
        if local is not None and _is_local(rnd, host):
            if not local.running:
                state, reason = State.DOWN, Reason.PROCESS_GONE
            elif state is State.UNKNOWN:
                state, reason = State.UP, None
        daemons.append(DaemonObservation("slurmdbd", host, role, state, reason))
    return daemons


def _dbd_service(
    answer: ProbeResult,
    daemons: list[DaemonObservation],
    th: Thresholds,
    sdiag: SdiagResult | None,
) -> ServiceObservation:
    known = [d for d in daemons if d.state is not State.UNKNOWN]
    redundancy: bool | None
    if any(not d.answered for d in known):
        redundancy = False
    elif daemons and len(known) == len(daemons):
        redundancy = True
    else:
        redundancy = None  # an instance cannot be verified, or none is known yet
    active_d = next((d for d in daemons if d.answered), None)
    active = ActiveInstance(active_d.hostname, active_d.role) if active_d else None
    if answer.reason is Reason.DATABASE:
        return ServiceObservation(
            "slurmdbd",
            State.DOWN,
            Condition.DATABASE_UNREACHABLE,
            False,
            redundancy,
            active,
            Reason.DATABASE,
        )
    if answer.reason is not None:
        return ServiceObservation(
            "slurmdbd",
            State.DOWN,
            Condition.DBD_UNREACHABLE,
            False,
            redundancy,
            None,
            answer.reason,
        )
    backlog = sdiag is not None and sdiag.dbd_agent_queue_size > th.dbd_agent_queue_size
    condition = Condition.OK if active is None or active.role == "primary" else Condition.FAILOVER
    return ServiceObservation(
        "slurmdbd",
        State.DEGRADED if backlog else State.UP,
        condition,
        True,
        redundancy,
        active,
        Reason.BACKLOG if backlog else None,
        active_source="sacctmgr ping" if answer.probe == "dbd_ping" else "port",
    )


def _registered_controller(result: ProbeResult | None, topology: Topology) -> str | None:
    listing = _data(result, ClusterList)
    if listing is None:
        return None
    name = topology.cluster_name
    for entry in listing.clusters:
        if name is None or entry.name == name:
            return entry.control_host or None
    return None

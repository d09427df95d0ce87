"""The alert rules: pure functions from one cluster's health (after hysteresis) and its SLA
figures to the alerts that should be active now. No clock, no I/O, no lifecycle: the
engine decides what becomes a notification.

Each rule also says what it cannot know (:class:`Hold`): while a service's state is unknown
(the monitor is blind, or it has just started), an alert already firing about it must
neither resolve nor re-fire, so it is held as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.alerting.settings import AlertSettings, BurnWindow
from monitor.config import Thresholds
from monitor.observation import BLIND_REASONS, Condition, Reason, State
from monitor.snapshot import ClusterStatus, DaemonStatus, ServiceStatus, SlaFigures


@dataclass(frozen=True)
class Candidate:
    alertname: str
    instance: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    since: dt.datetime


@dataclass(frozen=True)
class Hold:
    alertname: str
    instance: str | None = None  # None: every instance of the rule in this cluster

    def covers(self, alertname: str, instance: str) -> bool:
        return alertname == self.alertname and self.instance in (None, instance)


@dataclass(frozen=True)
class Evaluation:
    cluster: str
    active: tuple[Candidate, ...] = ()
    held: tuple[Hold, ...] = ()
    rules: frozenset[str] = frozenset()  # the rules evaluated (enabled)

    def is_held(self, alertname: str, instance: str) -> bool:
        return any(h.covers(alertname, instance) for h in self.held)


@dataclass
class Context:
    status: ClusterStatus
    sla: Sequence[SlaFigures]
    settings: AlertSettings
    thresholds: Thresholds
    now: dt.datetime
    active: list[Candidate] = field(default_factory=list)
    held: list[Hold] = field(default_factory=list)

    @property
    def cluster(self) -> str:
        return self.status.name

    def fire(
        self,
        alertname: str,
        instance: str,
        since: dt.datetime | None,
        summary: str,
        description: str,
        severity: str | None = None,
        **labels: str,
    ) -> None:
        rule = self.settings.rule(alertname)
        all_labels = {
            "alertname": alertname,
            "severity": severity or rule.severity,
            "cluster": self.cluster,
            **{k: v for k, v in labels.items() if v},
        }
        annotations = {"summary": summary, "description": description}
        template = rule.runbook_url or self.settings.runbook_url
        if template:
            annotations["runbook_url"] = template.format(
                alertname=alertname, cluster=self.cluster, service=labels.get("service", "")
            )
        when = min(since, self.now) if since else self.now
        self.active.append(Candidate(alertname, instance, all_labels, annotations, when))

    def hold(self, alertname: str, instance: str | None = None) -> None:
        self.held.append(Hold(alertname, instance))

    def service(self, name: str) -> ServiceStatus | None:
        return self.status.services.get(name)

    def daemons(self, name: str) -> list[DaemonStatus]:
        return [d for d in self.status.daemons if d.daemon == name]

    @property
    def stats(self) -> Mapping[str, object] | None:
        return self.status.statistics


def _when(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _known(ctx: Context, service: str, *alertnames: str) -> ServiceStatus | None:
    """The service if its state is known; else hold the rules about it."""
    svc = ctx.service(service)
    if svc is None and ctx.status.observation is not None:
        return None  # not monitored (no slurmdbd): nothing to say, nothing to hold
    if svc is None or svc.state is State.UNKNOWN:
        for name in alertnames:
            ctx.hold(name)
        return None
    return svc


def _instances(daemons: list[DaemonStatus]) -> str:
    return ", ".join(f"{d.hostname} {d.role}" for d in daemons) or "none"


# --- availability ------------------------------------------------------------------------


def slurmctld_down(ctx: Context) -> None:
    svc = _known(ctx, "slurmctld", "SlurmctldDown")
    if svc is None or svc.state is not State.DOWN:
        return
    ctls = ctx.daemons("slurmctld")
    if svc.condition is Condition.SPLIT_BRAIN_PROTECTION:
        primary = next((d.hostname for d in ctls if d.role == "primary"), "the primary")
        detail = (
            f"The primary controller {primary} is unreachable from the monitor and the "
            "backup stays in standby because it still sees the primary (split-brain "
            "protection): no controller serves requests"
        )
    else:
        detail = f"No controller answers scontrol ping (configured: {_instances(ctls)})"
    ctx.fire(
        "SlurmctldDown",
        "slurmctld",
        svc.since,
        f"No slurmctld answers on cluster {ctx.cluster}",
        f"{detail} since {_when(svc.since)}. Jobs cannot be submitted or scheduled.",
        service="slurmctld",
        daemon="slurmctld",
    )


_TAKEN_OVER = {
    "slurmctld": "The cluster works, but without a standby until the primary is back and "
    "takes control again.",
    "slurmdbd": "Accounting works, but without a standby until the primary slurmdbd is back "
    "(the backup hands control back when it returns).",
}


def _failover(ctx: Context, daemon: str, alertname: str) -> None:
    """A backup serves: the primary is lost, the service is not. For slurmdbd this is the
    only alert a dead primary raises (its backup takes over in under a second)."""
    svc = _known(ctx, daemon, alertname)
    if svc is None or svc.state not in (State.UP, State.DEGRADED):
        return
    if svc.active is None:
        # The round names who serves but the serving instance is not confirmed yet (the
        # first rounds after a restart): hold, or a restored failover is told "resolved"
        # and fires again a round later.
        seen = ctx.status.observation.services.get(daemon) if ctx.status.observation else None
        if seen is not None and seen.active is not None:
            ctx.hold(alertname)
        return
    if svc.active.role == "primary":
        return
    primary = next((d for d in ctx.daemons(daemon) if d.role == "primary"), None)
    what = "controller" if daemon == "slurmctld" else daemon
    ctx.fire(
        alertname,
        f"{daemon}@{svc.active.hostname}",
        None,
        f"Backup {what} {svc.active.hostname} ({svc.active.role}) is serving cluster {ctx.cluster}",
        f"The primary {daemon}{' on ' + primary.hostname if primary else ''} is not serving; "
        f"{svc.active.hostname} ({svc.active.role}) has taken over. {_TAKEN_OVER[daemon]}",
        service=daemon,
        daemon=daemon,
        host=svc.active.hostname,
        role=svc.active.role,
    )


def slurmctld_failover(ctx: Context) -> None:
    _failover(ctx, "slurmctld", "SlurmctldFailover")


def slurmdbd_failover(ctx: Context) -> None:
    _failover(ctx, "slurmdbd", "SlurmdbdFailover")


def _backup_down(ctx: Context, daemon: str, alertname: str) -> None:
    svc = ctx.service(daemon)
    for d in ctx.daemons(daemon):
        if d.role == "primary":
            continue
        instance = f"{daemon}@{d.hostname}({d.role})"
        # A standby slurmdbd does not listen: "unknown (standby)" is what a healthy backup
        # looks like, so it resolves the alert. Any other unknown holds it as it is.
        standby = d.state is State.UNKNOWN and (
            d.reason is Reason.STANDBY or _dbd_primary_serves(daemon, svc)
        )
        if (d.state is State.UNKNOWN and not standby) or svc is None or svc.state is State.UNKNOWN:
            ctx.hold(alertname, instance)
        elif d.state is State.DOWN:
            ctx.fire(
                alertname,
                instance,
                d.since,
                f"Backup {daemon} on {d.hostname} ({d.role}) of cluster {ctx.cluster} is down",
                f"{daemon} on {d.hostname} ({d.role}) has not answered since {_when(d.since)} "
                f"({d.reason or 'unreachable'}). Redundancy is lost: one more failure stops "
                f"the service.",
                service=daemon,
                daemon=daemon,
                host=d.hostname,
                role=d.role,
            )


def _dbd_primary_serves(daemon: str, svc: ServiceStatus | None) -> bool:
    """While the primary slurmdbd serves, a backup is standby or dead and nothing remote
    tells which (it does not listen; ``sacctmgr ping`` lists it only while the primary is
    silent): unknown is then its healthy look, not a reason to hold. Only the local process
    check can see it die, and that gives it a state."""
    return (
        daemon == "slurmdbd"
        and svc is not None
        and svc.state in (State.UP, State.DEGRADED)
        and svc.active is not None
        and svc.active.role == "primary"
    )


def slurmctld_backup_down(ctx: Context) -> None:
    _backup_down(ctx, "slurmctld", "SlurmctldBackupDown")


def slurmdbd_down(ctx: Context) -> None:
    svc = _known(ctx, "slurmdbd", "SlurmdbdDown")
    if svc is None or svc.state is not State.DOWN:
        return
    if svc.condition is Condition.DATABASE_UNREACHABLE:
        detail = f"slurmdbd answers but cannot reach its database since {_when(svc.since)}"
    else:
        dbds = _instances(ctx.daemons("slurmdbd"))
        detail = f"No slurmdbd answers sacctmgr (configured: {dbds}) since {_when(svc.since)}"
    ctx.fire(
        "SlurmdbdDown",
        "slurmdbd",
        svc.since,
        f"slurmdbd of cluster {ctx.cluster} is down",
        f"{detail}. Jobs keep running; accounting records queue in slurmctld (DBD agent "
        "queue) and sacct, sreport and fairshare updates stall until it returns.",
        service="slurmdbd",
        daemon="slurmdbd",
    )


def slurmdbd_backup_down(ctx: Context) -> None:
    _backup_down(ctx, "slurmdbd", "SlurmdbdBackupDown")


# --- performance -------------------------------------------------------------------------


def _serving(ctx: Context) -> DaemonStatus | None:
    svc = ctx.service("slurmctld")
    if svc is None or svc.active is None:
        return None
    return next((d for d in ctx.daemons("slurmctld") if d.hostname == svc.active.hostname), None)


def slurmctld_slow(ctx: Context) -> None:
    if _known(ctx, "slurmctld", "SlurmctldSlow") is None:
        return
    limit = ctx.thresholds.ping_latency_seconds
    serving = _serving(ctx)
    if serving is None or serving.state is not State.DEGRADED:
        return
    if serving.latency_seconds is None or serving.latency_seconds <= limit:
        return
    ctx.fire(
        "SlurmctldSlow",
        "slurmctld",
        serving.since,
        f"slurmctld of cluster {ctx.cluster} answers slowly",
        f"scontrol ping took {serving.latency_seconds:.2f} s (threshold {limit:g} s); the "
        f"serving controller is {serving.hostname} ({serving.role}).",
        service="slurmctld",
        daemon="slurmctld",
    )


def slurmctld_overloaded(ctx: Context) -> None:
    if _known(ctx, "slurmctld", "SlurmctldOverloaded") is None:
        return
    serving, stats = _serving(ctx), ctx.stats
    if serving is None or serving.state is not State.DEGRADED or stats is None:
        return
    th = ctx.thresholds
    over = [
        f"{label} {stats[key]} (threshold {limit})"
        for key, label, limit in (
            ("server_thread_count", "server threads", th.server_threads),
            ("agent_queue_size", "agent queue", th.agent_queue_size),
        )
        if isinstance(stats.get(key), (int, float)) and stats[key] > limit  # type: ignore[operator]
    ]
    if not over:
        return
    ctx.fire(
        "SlurmctldOverloaded",
        "slurmctld",
        serving.since,
        f"slurmctld of cluster {ctx.cluster} is overloaded",
        f"sdiag on {serving.hostname}: {', '.join(over)}. RPCs queue up; commands and "
        "scheduling slow down.",
        service="slurmctld",
        daemon="slurmctld",
    )


def dbd_agent_queue_backlog(ctx: Context) -> None:
    svc = _known(ctx, "slurmdbd", "SlurmdbdAgentQueueBacklog")
    stats = ctx.stats
    if svc is None or svc.state is not State.DEGRADED:
        return
    if stats is None:
        ctx.hold("SlurmdbdAgentQueueBacklog")
        return
    size, limit = stats.get("dbd_agent_queue_size"), ctx.thresholds.dbd_agent_queue_size
    if not isinstance(size, (int, float)) or size <= limit:
        return
    ctx.fire(
        "SlurmdbdAgentQueueBacklog",
        "slurmdbd",
        svc.since,
        f"Accounting backlog on cluster {ctx.cluster}",
        f"slurmctld holds {size} messages for slurmdbd (threshold {limit}): accounting is "
        "falling behind, and slurmctld drops records if the queue fills up (MaxDBDMsgs).",
        service="slurmdbd",
    )


# --- SLA and the monitor itself ------------------------------------------------------------


def _burning(rates: Mapping[str, float], windows: Sequence[BurnWindow]) -> BurnWindow | None:
    for w in windows:
        if rates.get(w.long, 0.0) > w.factor and rates.get(w.short, 0.0) > w.factor:
            return w
    return None


def sla_budget_burn(ctx: Context) -> None:
    burn = ctx.settings.burn
    for fig in ctx.sla:
        for urgency, windows, severity in (
            ("page", burn.page, None),
            ("ticket", burn.ticket, burn.ticket_severity),
        ):
            w = _burning(fig.burn_rates, windows)
            if w is None:
                needed = {x for v in windows for x in (v.long, v.short)}
                if not needed <= set(fig.burn_rates):  # a window the ledger cannot tell
                    ctx.hold("SlurmSLABudgetBurn", f"{fig.service}:{urgency}")
                continue
            remaining = fig.error_budget_remaining_ratio
            left = (
                f" {remaining:.0%} of the month's budget is left." if remaining is not None else ""
            )
            ctx.fire(
                "SlurmSLABudgetBurn",
                f"{fig.service}:{urgency}",
                None,
                f"{fig.service} of cluster {ctx.cluster} burns its error budget "
                f"{fig.burn_rates[w.long]:.1f}x too fast",
                f"Burn rate {fig.burn_rates[w.long]:.1f} over {w.long} and "
                f"{fig.burn_rates[w.short]:.1f} over {w.short} ({urgency} above {w.factor:g}x) "
                f"against an objective of {fig.objective_ratio:.3%}.{left}",
                severity=severity,
                service=fig.service,
                urgency=urgency,
            )


# ClusterHealth's cause for a state never confirmed since the monitor started.
_NEVER_CONFIRMED = "monitor started"


def _blind_confirmed(ctx: Context, svc: ServiceStatus) -> bool:
    """Blind after hysteresis. A monitor blind from its start never changes state (it
    starts unknown), so there the failed probes must have been seen in two rounds."""
    if svc.cause != _NEVER_CONFIRMED:
        return True
    counts = [
        n for (_, reason), n in ctx.status.probe_errors_total.items() if reason in BLIND_REASONS
    ]
    return max(counts, default=0) >= 2


def monitor_blind(ctx: Context) -> None:
    obs = ctx.status.observation
    errors = obs.errors if obs else ()
    for name, svc in sorted(ctx.status.services.items()):
        if svc.state is not State.UNKNOWN or svc.condition is not Condition.BLIND:
            continue
        if not _blind_confirmed(ctx, svc):
            ctx.hold("SlurmMonitorBlind", name)
            continue
        seen = "; ".join(f"{e.probe}: {e.reason}" for e in errors[:6]) or "no usable answer"
        # The first message names the cause (a missing slurm.conf, munge), so the page does.
        why = next((f" {e.message}." for e in errors if e.message), "")
        ctx.fire(
            "SlurmMonitorBlind",
            name,
            svc.since,
            f"The monitor cannot see {name} of cluster {ctx.cluster}",
            f"Probes fail ({seen}).{why} {name} itself may be fine: this is the monitor's problem "
            "(munge or credentials, a missing binary, or timeouts), not an outage, and it "
            "hides outages until fixed.",
            service=name,
        )


class FiguresByCluster:
    """One read of the fleet's SLA figures, by cluster. The ledger hands out the same tuple
    until a write changes a cluster's figures (heartbeats are written in batches), while every
    round evaluates one cluster: at 1,000 clusters, scanning all 2,000 figures per round for
    one cluster's two was about 1 s of CPU in 30 s. The index is built once per tuple read."""

    def __init__(self) -> None:
        # one (figures, index) pair, swapped whole: rounds of several threads never mix two
        self._last: tuple[Sequence[SlaFigures], Mapping[str, tuple[SlaFigures, ...]]] = ((), {})

    def of(self, sla: Sequence[SlaFigures], cluster: str) -> tuple[SlaFigures, ...]:
        if not isinstance(sla, tuple):  # a list may change between two calls: no index
            return tuple(f for f in sla if f.cluster == cluster)
        figures, index = self._last
        if figures is not sla:
            grouped: dict[str, list[SlaFigures]] = {}
            for f in sla:
                grouped.setdefault(f.cluster, []).append(f)
            index = {c: tuple(fs) for c, fs in grouped.items()}
            self._last = (sla, index)
        return index.get(cluster, ())


_BY_CLUSTER = FiguresByCluster()

Rule = Callable[[Context], None]

RULES: Mapping[str, Rule] = {
    "SlurmctldDown": slurmctld_down,
    "SlurmctldFailover": slurmctld_failover,
    "SlurmctldBackupDown": slurmctld_backup_down,
    "SlurmdbdDown": slurmdbd_down,
    "SlurmdbdFailover": slurmdbd_failover,
    "SlurmdbdBackupDown": slurmdbd_backup_down,
    "SlurmctldSlow": slurmctld_slow,
    "SlurmctldOverloaded": slurmctld_overloaded,
    "SlurmdbdAgentQueueBacklog": dbd_agent_queue_backlog,
    "SlurmSLABudgetBurn": sla_budget_burn,
    "SlurmMonitorBlind": monitor_blind,
}


def evaluate(
    status: ClusterStatus,
    sla: Sequence[SlaFigures],
    settings: AlertSettings,
    thresholds: Thresholds,
    now: dt.datetime,
) -> Evaluation:
    ctx = Context(status, _BY_CLUSTER.of(sla, status.name), settings, thresholds, now)
    enabled = [name for name in RULES if settings.rule(name).enabled]
    for name in enabled:
        RULES[name](ctx)
    return Evaluation(status.name, tuple(ctx.active), tuple(ctx.held), frozenset(enabled))

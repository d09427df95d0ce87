"""The configuration: TOML in, frozen typed dataclasses out, or every error at once.

Errors read ``FILE:LINE: key.path: message``. Defaults come first, then validation; a key we
do not know is an error, because a misspelt threshold silently ignored is a missed page.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.alerting.providers import RECEIVER_TYPES as PROVIDER_TYPES
from monitor.alerting.providers import read_receiver_options
from monitor.alerting.settings import AlertSettings, read_alerts
from monitor.boundedread import read_bytes
from monitor.config_lines import key_lines, line_of
from monitor.config_schema import KeyPath, Reader, dotted
from monitor.errors import ConfigError, ConfigUnreadable
from monitor.fleet.shard import Shard, parse_shard
from monitor.ha.settings import HaSettings, check_gate, read_ha
from monitor.report.settings import ReportSettings, read_report
from monitor.rest.settings import REST_KEYS, RestSettings, read_rest
from monitor.status.settings import StatusSettings, read_status

DEFAULT_CONFIG_PATH = Path("/etc/slurm-sla-monitor/config.toml")
DEFAULT_STATE_DIR = Path("/var/lib/slurm-sla-monitor")
DEFAULT_LISTEN = "0.0.0.0:9817"
SERVICES = ("slurmctld", "slurmdbd")
BACKENDS = ("cli", "rest")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_ROUNDS = 1000  # consecutive probe rounds: more would never confirm a change
MAX_WORKERS = 1024  # concurrent cluster probes: more is a thread bomb, not a setting


@dataclass(frozen=True)
class Thresholds:
    """When an answering daemon counts as degraded (and the warning alerts fire)."""

    ping_latency_seconds: float = 2.0
    server_threads: int = 50
    agent_queue_size: int = 200
    dbd_agent_queue_size: int = 1000


@dataclass(frozen=True)
class MonitorSettings:
    interval_seconds: float = 10.0
    failure_threshold: int = 2
    recovery_threshold: int = 2
    confirm_interval_seconds: float = 1.0
    command_timeout_seconds: float = 5.0
    # sdiag and `scontrol show config` take 9-12 s in some real failures; they get their own
    # budget so they never hold up the ping verdict.
    slow_command_timeout_seconds: float = 20.0
    jitter_seconds: float = 1.0
    # While a backup takes over, a ping can briefly see no controller answer (Slurm's own
    # clients retry through it): within this many seconds of a backup answering, such a
    # round is not an outage.
    takeover_grace_seconds: float = 10.0
    max_workers: int = 8
    listen: str = DEFAULT_LISTEN
    state_dir: Path = DEFAULT_STATE_DIR
    log_format: str = "auto"
    web_config_file: Path | None = None
    shard: Shard | None = None  # None: every cluster of the file


@dataclass(frozen=True)
class SloTargets:
    """Monthly availability objectives in percent."""

    slurmctld: float = 99.9
    slurmdbd: float = 99.5

    def for_service(self, service: str) -> float:
        return float(getattr(self, service))


@dataclass(frozen=True)
class SlaSettings:
    timezone: str = "UTC"  # whose calendar months the SLA counts
    unknown_counts_as: str = "excluded"  # excluded | up | down
    min_downtime_minutes: float = 0.0  # count only outages of at least this long (0: all)
    # "minute": every minute in which the service was down at all counts whole (GCP's way)
    downtime_granularity: str = "second"  # second | minute
    degraded_counts_as: float = 0.0  # share of degraded time counted as down: 0 up, 1 down
    credits: tuple[CreditTier, ...] = ()  # the service-credit ladder ([[sla.credits]])


@dataclass(frozen=True)
class CreditTier:
    """Availability below ``below`` percent owes ``credit_percent``; for one service, or
    (``service`` None) for every service of a cluster."""

    below: float
    credit_percent: float
    service: str | None = None


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    slurm_conf: Path | None = None
    slurm_bin: Path = Path("/usr/bin")
    munge_bin: Path = Path("/usr/bin")
    munge_socket: Path | None = None  # default: AuthInfo socket= from slurm.conf, else munge's
    accounting: bool = True  # the cluster has slurmdbd
    local_daemons: tuple[str, ...] = ()  # daemons running on this host: process-checked
    # Where the monitor reaches a Slurm host for the slurmdbd port check, when its own name
    # resolution differs from the cluster's: {"dbd1" = "10.1.0.5"} or {"dbd1" = "10.1.0.5:6819"}.
    host_addresses: Mapping[str, str] = field(default_factory=dict)
    slo: SloTargets = field(default_factory=SloTargets)
    customer: str | None = None  # whose cluster it is: the status page's ?customer=NAME
    backend: str = "cli"  # cli: Slurm's client commands; rest: slurmrestd
    rest: RestSettings | None = None  # backend = "rest"
    slurmctld_port: int = 6817  # for /readyz (25.11+) where no show config tells it (rest)
    # /readyz on each controller (25.11+): by default where the monitor talks to the
    # controllers' port anyway (cli), not through slurmrestd, whose monitors often cannot.
    readyz: bool | None = None

    @property
    def asks_readyz(self) -> bool:
        return self.readyz if self.readyz is not None else self.backend == "cli"

    def command_env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.slurm_conf)} if self.slurm_conf else {}


@dataclass(frozen=True)
class MaintenanceWindow:
    start: dt.datetime
    end: dt.datetime
    clusters: tuple[str, ...] | None = None  # None: every cluster
    services: tuple[str, ...] | None = None  # None: every service
    reason: str = ""
    repeat: str = "none"  # none | daily | weekly
    until: dt.datetime | None = None


@dataclass(frozen=True)
class ReceiverConfig:
    name: str
    type: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)  # may hold secrets
    settings: Any = None  # the options validated by the type's provider (monitor.alerting)


@dataclass(frozen=True)
class Config:
    monitor: MonitorSettings
    clusters: tuple[ClusterConfig, ...]
    slo: SloTargets
    sla: SlaSettings
    thresholds: Thresholds
    maintenance: tuple[MaintenanceWindow, ...] = ()
    receivers: tuple[ReceiverConfig, ...] = ()
    alerts: AlertSettings = field(default_factory=AlertSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    status: StatusSettings = field(default_factory=StatusSettings)
    ha: HaSettings | None = None  # None: single-replica mode
    source: Path | None = None
    fleet_size: int = 0  # clusters in the file; `clusters` is this daemon's shard of them

    def cluster(self, name: str) -> ClusterConfig:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)


RECEIVER_TYPES = PROVIDER_TYPES  # the provider registry is the one list


def load_config(path: Path | str) -> Config:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        text = read_bytes(path).decode("utf-8-sig")  # a BOM from a Windows editor is fine
    except FileNotFoundError:
        hint = ""
        if path == DEFAULT_CONFIG_PATH:
            hint = " (the default: install one there, or name yours with --config FILE)"
        raise ConfigUnreadable([f"{path}: file not found{hint}"]) from None
    except IsADirectoryError:
        raise ConfigUnreadable([f"{path}: is a directory, not a configuration file"]) from None
    except OSError as exc:
        raise ConfigUnreadable([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigUnreadable(
            [f"{path}: cannot read: not UTF-8 text (byte {exc.start})"]
        ) from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise ConfigUnreadable([f"{path!s:.80}: cannot read: {exc}"]) from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | str = "<config>") -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ConfigError([f"{path}:{line or 0}: (syntax): {exc}"]) from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise ConfigError([f"{path}:0: (syntax): arrays or tables nested too deeply"]) from None
    reader = Reader()
    config = _read(reader, data, path)
    if reader.errors:
        lines = key_lines(text)
        raise ConfigError(
            [
                f"{path}:{line_of(lines, p) or 0}: {dotted(p) or '(top level)'}: {message}"
                for p, message in reader.errors
            ]
        )
    assert config is not None
    return config


def _line_from_message(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def _read(r: Reader, data: dict[str, Any], source: Path) -> Config | None:
    r.table(
        data,
        (),
        (
            "monitor",
            "clusters",
            "slo",
            "sla",
            "thresholds",
            "maintenance",
            "receivers",
            "alerts",
            "report",
            "status",
            "ha",
        ),
    )
    monitor = _read_monitor(r, data.get("monitor"))
    slo = _read_slo(r, data.get("slo"), ("slo",), SloTargets())
    clusters = tuple(
        _read_cluster(r, c, ("clusters", i), slo)
        for i, c in enumerate(r.tables(data.get("clusters"), ("clusters",)))
    )
    if not clusters:
        r.error(("clusters",), "at least one [[clusters]] table is required")
    names = [c.name for c in clusters]
    for i, name in enumerate(names):
        if name and names.index(name) != i:
            r.error(("clusters", i, "name"), f"duplicate cluster name {name!r}")
    fleet_size = len(clusters)
    if monitor.shard is not None and not r.errors:
        clusters = tuple(c for c in clusters if monitor.shard.owns(c.name))
        if not clusters:
            r.error(
                ("monitor", "shard"),
                f"shard {monitor.shard} owns none of the {fleet_size} cluster(s): use fewer shards",
            )
    windows = tuple(
        w
        for i, m in enumerate(r.tables(data.get("maintenance"), ("maintenance",)))
        if (w := _read_maintenance(r, m, ("maintenance", i), set(names))) is not None
    )
    receivers = tuple(
        _read_receiver(r, d, ("receivers", i))
        for i, d in enumerate(r.tables(data.get("receivers"), ("receivers",)))
    )
    rnames = [x.name for x in receivers]
    for i, name in enumerate(rnames):
        if name and rnames.index(name) != i:
            r.error(("receivers", i, "name"), f"duplicate receiver name {name!r}")
    ha = read_ha(
        r,
        data.get("ha"),
        ("ha",),
        receivers=[(x.name, x.type) for x in receivers],
        read_receiver=_read_receiver,
    )
    # In HA mode the routes choose among the Alertmanager's receivers (alertmanager-config)
    routed = [x.name for x in ha.receivers] if ha is not None else rnames
    alerts = read_alerts(r, data.get("alerts"), ("alerts",), clusters=names, receivers=routed)
    if ha is not None:
        check_gate(r, blind_enabled=alerts.rule("SlurmMonitorBlind").enabled)
    return Config(
        monitor=monitor,
        clusters=clusters,
        slo=slo,
        sla=_read_sla(r, data.get("sla")),
        thresholds=_read_thresholds(r, data.get("thresholds")),
        maintenance=windows,
        receivers=receivers,
        alerts=alerts,
        report=_read_report(r, data.get("report"), receivers, ha),
        status=read_status(r, data.get("status"), ("status",)),
        ha=ha,
        source=source,
        fleet_size=fleet_size,
    )


def _read_report(
    r: Reader, raw: Any, receivers: tuple[ReceiverConfig, ...], ha: HaSettings | None
) -> ReportSettings:
    """In HA mode the report's email receiver is one of [[ha.receivers]], and one replica
    mails it ([ha] report_sender), or the customer would get one mail per replica."""
    mailers = [*receivers, *(ha.receivers if ha is not None else ())]
    report = read_report(r, raw, ("report",), receivers=[(x.name, x.type) for x in mailers])
    if ha is not None and report.mail_receiver and not ha.report_sender:
        r.error(
            ("ha", "report_sender"),
            "required with [report] mail_receiver: name the replica that mails the monthly "
            "report (every replica's timer writes it; the others mail it only while that "
            "replica does not answer)",
        )
    return report


def _read_monitor(r: Reader, raw: Any) -> MonitorSettings:
    p: KeyPath = ("monitor",)
    d = r.table(raw, p, MonitorSettings.__dataclass_fields__)
    dflt = MonitorSettings()
    interval = r.seconds(d, p, "interval_seconds", dflt.interval_seconds, above=0)
    command_timeout = r.seconds(
        d, p, "command_timeout_seconds", dflt.command_timeout_seconds, above=0
    )
    listen = r.string(d, p, "listen", dflt.listen)
    if listen is not None and not listen.strip():
        r.error((*p, "listen"), "must not be empty (e.g. 0.0.0.0:9817)")
    listen = listen or dflt.listen
    if (
        not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\s]*):\d{1,5}", listen)
        or int(listen.rsplit(":", 1)[1]) > 65535
    ):
        r.error((*p, "listen"), f"expected HOST:PORT (e.g. 0.0.0.0:9817), got {listen!r}")
    settings = MonitorSettings(
        interval_seconds=interval,
        failure_threshold=r.integer(
            d, p, "failure_threshold", dflt.failure_threshold, minimum=1, maximum=MAX_ROUNDS
        ),
        recovery_threshold=r.integer(
            d, p, "recovery_threshold", dflt.recovery_threshold, minimum=1, maximum=MAX_ROUNDS
        ),
        confirm_interval_seconds=r.seconds(
            d, p, "confirm_interval_seconds", dflt.confirm_interval_seconds, above=0
        ),
        command_timeout_seconds=command_timeout,
        slow_command_timeout_seconds=r.seconds(
            d, p, "slow_command_timeout_seconds", dflt.slow_command_timeout_seconds, above=0
        ),
        jitter_seconds=r.seconds(d, p, "jitter_seconds", dflt.jitter_seconds, minimum=0),
        takeover_grace_seconds=r.seconds(
            d, p, "takeover_grace_seconds", dflt.takeover_grace_seconds, minimum=0
        ),
        max_workers=r.integer(
            d, p, "max_workers", dflt.max_workers, minimum=1, maximum=MAX_WORKERS
        ),
        listen=listen,
        state_dir=r.path(d, p, "state_dir", dflt.state_dir) or dflt.state_dir,
        log_format=r.string(
            d, p, "log_format", dflt.log_format, choices=("auto", "json", "console")
        )
        or dflt.log_format,
        web_config_file=r.path(d, p, "web_config_file", None),
        shard=_read_shard(r, d, p),
    )
    if settings.confirm_interval_seconds > settings.interval_seconds:
        r.error(
            (*p, "confirm_interval_seconds"),
            "must not exceed interval_seconds" + _unset(d, "confirm_interval_seconds", dflt),
        )
    if settings.jitter_seconds >= settings.interval_seconds:
        r.error(
            (*p, "jitter_seconds"),
            "must be smaller than interval_seconds" + _unset(d, "jitter_seconds", dflt),
        )
    return settings


def _read_shard(r: Reader, d: dict[str, Any], p: KeyPath) -> Shard | None:
    text = r.string(d, p, "shard", None)
    if text is None:
        return None
    try:
        return parse_shard(text)
    except ValueError as exc:
        r.error((*p, "shard"), str(exc))
        return None


def _unset(d: dict[str, Any], key: str, dflt: MonitorSettings) -> str:
    """For an error about a key the file does not set: which default is in the way, so a
    short interval_seconds does not point at a line the user never wrote without a word."""
    if key in d:
        return ""
    return f" (not set here: its default {getattr(dflt, key):g} applies; set {key} lower)"


def _read_slo(r: Reader, raw: Any, p: KeyPath, base: SloTargets) -> SloTargets:
    d = r.table(raw, p, SERVICES)
    values = {}
    for service in SERVICES:
        value = r.number(d, p, service, base.for_service(service), above=0)
        if value > 100:
            r.error((*p, service), f"a percentage must be <= 100, got {value:g}")
        values[service] = float(value)
    return SloTargets(**values)


def _read_sla(r: Reader, raw: Any) -> SlaSettings:
    p: KeyPath = ("sla",)
    d = r.table(raw, p, SlaSettings.__dataclass_fields__)
    dflt = SlaSettings()
    tz = r.string(d, p, "timezone", dflt.timezone)
    if tz is not None and not tz.strip():
        # An empty name used to mean UTC silently: a customer in Berlin would get UTC months.
        r.error((*p, "timezone"), "must not be empty (an IANA name, e.g. Europe/Berlin or UTC)")
        tz = dflt.timezone
    tz = tz or dflt.timezone
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        r.error(
            (*p, "timezone"), f"unknown time zone {tz!r} (use an IANA name, e.g. Europe/Berlin)"
        )
        tz = dflt.timezone
    return SlaSettings(
        timezone=tz,
        unknown_counts_as=r.string(
            d, p, "unknown_counts_as", dflt.unknown_counts_as, choices=("excluded", "up", "down")
        )
        or dflt.unknown_counts_as,
        min_downtime_minutes=r.number(
            d, p, "min_downtime_minutes", dflt.min_downtime_minutes, minimum=0, maximum=24 * 60
        ),
        downtime_granularity=r.string(
            d, p, "downtime_granularity", dflt.downtime_granularity, choices=("second", "minute")
        )
        or dflt.downtime_granularity,
        degraded_counts_as=_read_degraded(r, d, p),
        credits=_read_credits(r, d.get("credits"), (*p, "credits")),
    )


def _read_degraded(r: Reader, d: dict[str, Any], p: KeyPath) -> float:
    """``"up"``, ``"down"`` or the share of degraded time that counts as down (0 to 1)."""
    value = d.get("degraded_counts_as", "up")
    if isinstance(value, str):
        if value not in ("up", "down"):
            r.error(
                (*p, "degraded_counts_as"),
                f'must be "up", "down" or a number from 0 to 1; got {value!r}',
            )
            return 0.0
        return 1.0 if value == "down" else 0.0
    return float(r.number(d, p, "degraded_counts_as", 0.0, minimum=0, maximum=1))


def _read_credits(r: Reader, raw: Any, p: KeyPath) -> tuple[CreditTier, ...]:
    tiers = []
    for i, t in enumerate(r.tables(raw, p)):
        q = (*p, i)
        r.table(t, q, CreditTier.__dataclass_fields__)
        if "below" not in t:
            r.error((*q, "below"), "required key is missing")
        if "credit_percent" not in t:
            r.error((*q, "credit_percent"), "required key is missing")
        below = r.number(t, q, "below", 0.0, above=0, maximum=100)
        credit = r.number(t, q, "credit_percent", 0.0, minimum=0, maximum=100)
        service = r.string(t, q, "service", None, choices=SERVICES)
        tiers.append(CreditTier(float(below), float(credit), service))
    seen = set()
    for i, t in enumerate(tiers):
        if (t.service, t.below) in seen:
            r.error((*p, i, "below"), f"a second tier below {t.below:g} for the same service")
        seen.add((t.service, t.below))
    return tuple(tiers)


def _read_thresholds(r: Reader, raw: Any) -> Thresholds:
    p: KeyPath = ("thresholds",)
    d = r.table(raw, p, Thresholds.__dataclass_fields__)
    dflt = Thresholds()
    return Thresholds(
        ping_latency_seconds=r.seconds(
            d, p, "ping_latency_seconds", dflt.ping_latency_seconds, above=0
        ),
        server_threads=r.integer(d, p, "server_threads", dflt.server_threads, minimum=1),
        agent_queue_size=r.integer(d, p, "agent_queue_size", dflt.agent_queue_size, minimum=1),
        dbd_agent_queue_size=r.integer(
            d, p, "dbd_agent_queue_size", dflt.dbd_agent_queue_size, minimum=1
        ),
    )


def _read_cluster(r: Reader, d: dict[str, Any], p: KeyPath, slo: SloTargets) -> ClusterConfig:
    r.table(d, p, (*(f for f in ClusterConfig.__dataclass_fields__ if f != "rest"), *REST_KEYS))
    name = r.string(d, p, "name", "", required=True) or ""
    if name and not _NAME.match(name):
        r.error((*p, "name"), "use letters, digits, '.', '_' and '-' (it becomes a label)")
    dflt = ClusterConfig(name="")
    backend = r.string(d, p, "backend", dflt.backend, choices=BACKENDS) or dflt.backend
    return ClusterConfig(
        name=name,
        slurm_conf=r.path(d, p, "slurm_conf", None),
        slurm_bin=r.path(d, p, "slurm_bin", dflt.slurm_bin) or dflt.slurm_bin,
        munge_bin=r.path(d, p, "munge_bin", dflt.munge_bin) or dflt.munge_bin,
        munge_socket=r.path(d, p, "munge_socket", None),
        accounting=r.boolean(d, p, "accounting", True),
        local_daemons=r.strings(d, p, "local_daemons", (), choices=SERVICES) or (),
        host_addresses=_read_addresses(r, d, p),
        slo=_read_slo(r, d.get("slo"), (*p, "slo"), slo) if "slo" in d else slo,
        customer=_read_customer(r, d, p),
        backend=backend,
        rest=read_rest(r, d, p, backend),
        slurmctld_port=r.integer(d, p, "slurmctld_port", 6817, minimum=1, maximum=65535),
        readyz=r.boolean(d, p, "readyz", True) if "readyz" in d else None,
    )


def _read_customer(r: Reader, d: dict[str, Any], p: KeyPath) -> str | None:
    customer = r.string(d, p, "customer", None)
    if customer is not None and not customer.strip():
        r.error((*p, "customer"), "must not be empty (leave it out for no customer)")
        return None
    return customer.strip() if customer else None


def _read_addresses(r: Reader, d: dict[str, Any], p: KeyPath) -> dict[str, str]:
    raw = r.table(d.get("host_addresses"), (*p, "host_addresses"), d.get("host_addresses") or {})
    out = {}
    for host, value in raw.items():
        if not isinstance(value, str) or not re.fullmatch(
            r"[^\s:]+(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?", value
        ):
            r.error((*p, "host_addresses", host), "expected ADDRESS or ADDRESS:PORT")
            continue
        out[host] = value
    return out


def _read_maintenance(
    r: Reader, d: dict[str, Any], p: KeyPath, clusters: set[str]
) -> MaintenanceWindow | None:
    r.table(d, p, ("start", "end", "clusters", "services", "reason", "repeat", "until"))
    start = r.timestamp(d, p, "start", required=True)
    end = r.timestamp(d, p, "end", required=True)
    names = r.strings(d, p, "clusters", None)
    for i, name in enumerate(names or ()):
        if name not in clusters:
            r.error((*p, "clusters", i), f"no cluster named {name!r}")
    window = MaintenanceWindow(
        start=start or dt.datetime.min.replace(tzinfo=dt.UTC),
        end=end or dt.datetime.min.replace(tzinfo=dt.UTC),
        clusters=names,
        services=r.strings(d, p, "services", None, choices=SERVICES),
        reason=r.string(d, p, "reason", "") or "",
        repeat=r.string(d, p, "repeat", "none", choices=("none", "daily", "weekly")) or "none",
        until=r.timestamp(d, p, "until"),
    )
    if start is None or end is None:
        return None
    if end <= start:
        r.error((*p, "end"), "must be after start")
    period = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}.get(window.repeat)
    if period is not None and end - start >= period:
        r.error((*p, "end"), f"a {window.repeat} window must be shorter than its period")
    return window


def _read_receiver(r: Reader, d: dict[str, Any], p: KeyPath) -> ReceiverConfig:
    name = r.string(d, p, "name", "", required=True) or ""
    kind = r.string(d, p, "type", "", required=True, choices=RECEIVER_TYPES) or ""
    options = {k: v for k, v in d.items() if k not in ("name", "type")}
    settings = read_receiver_options(r, kind, options, p)
    return ReceiverConfig(name=name, type=kind, options=options, settings=settings)

"""The ``[alerts]`` table: rule severities and switches, the lifecycle's timings, routes and
the outbox's retry policy. Frozen values with defaults; read with the config's
:class:`Reader` so every error carries its key path (and so its ``FILE:LINE``).

```toml
[alerts]
external_url = "https://monitor.example.org:9817/"
runbook_url = "https://wiki.example.org/slurm/runbooks#{alertname}"
repeat_interval_seconds = 14400

[alerts.rules.SlurmctldFailover]
severity = "critical"

[[alerts.routes]]
receivers = ["pager"]
severities = ["critical"]
```
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.config_schema import KeyPath, Reader

SEVERITIES = ("critical", "warning", "info")
FLAP_HOLD_MAX_SECONDS = 60.0  # a resolve held longer misleads the receiver for too long
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "1d", "3d")
GROUP_LABELS = ("cluster", "alertname", "severity", "service", "daemon", "host", "role")

# Alert name -> default severity. The one list of rules the engine knows.
RULE_SEVERITY: Mapping[str, str] = {
    "SlurmctldDown": "critical",
    "SlurmctldFailover": "warning",
    "SlurmctldBackupDown": "warning",
    "SlurmdbdDown": "critical",
    "SlurmdbdFailover": "warning",
    "SlurmdbdBackupDown": "warning",
    "SlurmctldSlow": "warning",
    "SlurmctldOverloaded": "warning",
    "SlurmdbdAgentQueueBacklog": "warning",
    "SlurmSLABudgetBurn": "critical",
    "SlurmMonitorBlind": "warning",
}


@dataclass(frozen=True)
class BurnWindow:
    """Fires when the burn rate exceeds ``factor`` over both windows (SRE workbook)."""

    long: str
    short: str
    factor: float


@dataclass(frozen=True)
class RuleSettings:
    enabled: bool = True
    severity: str = "warning"
    for_seconds: float = 0.0  # the condition must hold this long before it fires
    runbook_url: str = ""  # overrides [alerts].runbook_url for this rule


@dataclass(frozen=True)
class BurnSettings:
    page: tuple[BurnWindow, ...] = (BurnWindow("1h", "5m", 14.4), BurnWindow("6h", "30m", 6.0))
    ticket: tuple[BurnWindow, ...] = (BurnWindow("3d", "6h", 1.0),)
    ticket_severity: str = "warning"  # the page severity is the rule's `severity`


@dataclass(frozen=True)
class Route:
    """Alerts matching every given filter go to ``receivers`` (absent filter: any)."""

    receivers: tuple[str, ...]
    severities: tuple[str, ...] | None = None
    clusters: tuple[str, ...] | None = None
    alertnames: tuple[str, ...] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(
            allowed is None or labels.get(key, "") in allowed
            for key, allowed in (
                ("severity", self.severities),
                ("cluster", self.clusters),
                ("alertname", self.alertnames),
            )
        )


@dataclass(frozen=True)
class OutboxSettings:
    retry_initial_seconds: float = 2.0
    retry_max_seconds: float = 120.0
    max_retry_after_seconds: float = 3600.0  # a Retry-After longer than this is capped
    dead_letter_after_seconds: float = 86400.0
    keep_sent_seconds: float = 7 * 86400.0


def _default_rules() -> dict[str, RuleSettings]:
    return {name: RuleSettings(severity=sev) for name, sev in RULE_SEVERITY.items()}


@dataclass(frozen=True)
class AlertSettings:
    external_url: str = ""
    runbook_url: str = ""  # may use {alertname}, {cluster}, {service}
    repeat_interval_seconds: float = 4 * 3600.0
    group_by: tuple[str, ...] = ("cluster",)
    group_wait_seconds: float = 0.0
    group_interval_seconds: float = 0.0
    flap_window_seconds: float = 1800.0
    flap_threshold: int = 4  # condition changes within the window that make it flapping
    # Extra quiet a flapping alert needs before it resolves, on top of the hysteresis that
    # already confirmed recovery. 0: resolve at the confirming round. A hold delays the
    # resolve to a later round, so receivers keep an alert firing that has ended: capped.
    flap_hold_seconds: float = 0.0
    rules: Mapping[str, RuleSettings] = field(default_factory=_default_rules)
    burn: BurnSettings = field(default_factory=BurnSettings)
    routes: tuple[Route, ...] = ()
    outbox: OutboxSettings = field(default_factory=OutboxSettings)

    def rule(self, name: str) -> RuleSettings:
        return self.rules.get(name) or RuleSettings(severity=RULE_SEVERITY.get(name, "warning"))


_TOP = (*(f for f in AlertSettings.__dataclass_fields__ if f not in ("burn",)),)


def read_alerts(
    r: Reader, raw: Any, p: KeyPath, *, clusters: Iterable[str], receivers: Iterable[str]
) -> AlertSettings:
    d = r.table(raw, p, _TOP)
    dflt = AlertSettings()
    runbook = r.string(d, p, "runbook_url", "") or ""
    _check_template(r, (*p, "runbook_url"), runbook)
    group_by = r.strings(d, p, "group_by", dflt.group_by, choices=GROUP_LABELS)
    settings = AlertSettings(
        external_url=r.string(d, p, "external_url", "") or "",
        runbook_url=runbook,
        repeat_interval_seconds=r.number(
            d, p, "repeat_interval_seconds", dflt.repeat_interval_seconds, above=0
        ),
        group_by=group_by if group_by is not None else dflt.group_by,
        group_wait_seconds=r.number(d, p, "group_wait_seconds", 0.0, minimum=0),
        group_interval_seconds=r.number(d, p, "group_interval_seconds", 0.0, minimum=0),
        flap_window_seconds=r.number(
            d, p, "flap_window_seconds", dflt.flap_window_seconds, above=0
        ),
        flap_threshold=r.integer(d, p, "flap_threshold", dflt.flap_threshold, minimum=0),
        flap_hold_seconds=_flap_hold(r, d, p, dflt.flap_hold_seconds),
        rules=_read_rules(r, d.get("rules"), (*p, "rules")),
        burn=_read_burn(r, (d.get("rules") or {}).get("SlurmSLABudgetBurn"), p),
        routes=tuple(
            _read_route(r, t, (*p, "routes", i), set(clusters), set(receivers))
            for i, t in enumerate(r.tables(d.get("routes"), (*p, "routes")))
        ),
        outbox=_read_outbox(r, d.get("outbox"), (*p, "outbox")),
    )
    return settings


def _flap_hold(r: Reader, d: dict[str, Any], p: KeyPath, default: float) -> float:
    hold = r.number(d, p, "flap_hold_seconds", default, minimum=0)
    if hold > FLAP_HOLD_MAX_SECONDS:
        r.error(
            (*p, "flap_hold_seconds"),
            f"at most {FLAP_HOLD_MAX_SECONDS:g}: a flapping alert's resolve must reach "
            "receivers soon after recovery (keep it under one probe interval)",
        )
    return hold


def _check_template(r: Reader, p: KeyPath, text: str) -> None:
    # Only bare fields: a format spec such as {alertname:>999999999} would allocate a
    # gigabyte per alert, and {alertname.__class__} reads attributes.
    try:
        fields = [f for f in string.Formatter().parse(text) if f[1] is not None]
    except ValueError as exc:
        fields, problem = [], str(exc)
    else:
        problem = next(
            (
                f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
                for _, name, spec, conv in fields
                if name not in _TEMPLATE_FIELDS or spec or conv
            ),
            "",
        )
    if problem:
        r.error(p, f"bad template ({problem}); use {{alertname}}, {{cluster}} or {{service}}")


_TEMPLATE_FIELDS = ("alertname", "cluster", "service")


_BURN_KEYS = ("page", "ticket", "ticket_severity")


def _read_rules(r: Reader, raw: Any, p: KeyPath) -> dict[str, RuleSettings]:
    d = r.table(raw, p, RULE_SEVERITY)
    rules = _default_rules()
    for name, default in RULE_SEVERITY.items():
        if name not in d:
            continue
        q = (*p, name)
        extra = _BURN_KEYS if name == "SlurmSLABudgetBurn" else ()
        t = r.table(d[name], q, (*RuleSettings.__dataclass_fields__, *extra))
        runbook = r.string(t, q, "runbook_url", "") or ""
        _check_template(r, (*q, "runbook_url"), runbook)
        rules[name] = RuleSettings(
            enabled=r.boolean(t, q, "enabled", True),
            severity=r.string(t, q, "severity", default, choices=SEVERITIES) or default,
            for_seconds=r.number(t, q, "for_seconds", 0.0, minimum=0),
            runbook_url=runbook,
        )
    return rules


def _read_burn(r: Reader, raw: Any, p: KeyPath) -> BurnSettings:
    dflt = BurnSettings()
    if not isinstance(raw, dict):
        return dflt
    q = (*p, "rules", "SlurmSLABudgetBurn")
    return BurnSettings(
        page=_read_windows(r, raw, q, "page", dflt.page),
        ticket=_read_windows(r, raw, q, "ticket", dflt.ticket),
        ticket_severity=r.string(
            raw, q, "ticket_severity", dflt.ticket_severity, choices=SEVERITIES
        )
        or dflt.ticket_severity,
    )


def _read_windows(
    r: Reader, raw: dict[str, Any], p: KeyPath, key: str, default: tuple[BurnWindow, ...]
) -> tuple[BurnWindow, ...]:
    if key not in raw:
        return default
    out = []
    for i, t in enumerate(r.tables(raw[key], (*p, key))):
        q = (*p, key, i)
        r.table(t, q, ("long", "short", "factor"))
        long = r.string(t, q, "long", "", required=True, choices=BURN_WINDOWS) or ""
        short = r.string(t, q, "short", "", required=True, choices=BURN_WINDOWS) or ""
        factor = r.number(t, q, "factor", 1.0, above=0)
        if long and short and BURN_WINDOWS.index(short) >= BURN_WINDOWS.index(long):
            r.error((*q, "short"), f"must be a shorter window than long ({long!r})")
        out.append(BurnWindow(long, short, float(factor)))
    return tuple(out)


def _read_route(
    r: Reader, d: dict[str, Any], p: KeyPath, clusters: set[str], receivers: set[str]
) -> Route:
    r.table(d, p, ("receivers", "severities", "clusters", "alertnames"))
    names = r.strings(d, p, "receivers", None)
    if names is None and "receivers" not in d:
        r.error((*p, "receivers"), "required key is missing")
    for i, name in enumerate(names or ()):
        if name not in receivers:
            r.error((*p, "receivers", i), f"no receiver named {name!r}")
    wanted = r.strings(d, p, "clusters", None)
    for i, name in enumerate(wanted or ()):
        if name not in clusters:
            r.error((*p, "clusters", i), f"no cluster named {name!r}")
    return Route(
        receivers=names or (),
        severities=r.strings(d, p, "severities", None, choices=SEVERITIES),
        clusters=wanted,
        alertnames=r.strings(d, p, "alertnames", None, choices=RULE_SEVERITY),
    )


def _read_outbox(r: Reader, raw: Any, p: KeyPath) -> OutboxSettings:
    d = r.table(raw, p, OutboxSettings.__dataclass_fields__)
    dflt = OutboxSettings()
    values = {
        name: r.number(d, p, name, getattr(dflt, name), above=0)
        for name in OutboxSettings.__dataclass_fields__
    }
    settings = OutboxSettings(**values)
    if settings.retry_initial_seconds > settings.retry_max_seconds:
        r.error((*p, "retry_initial_seconds"), "must not exceed retry_max_seconds")
    return settings

"""Text shared by the human-facing receivers (Slack, email): titles, durations, times."""

from __future__ import annotations

import datetime as dt

from monitor.alerting.model import AlertNotice, Notification


def title(n: Notification) -> str:
    """``[FIRING:2] prod: SlurmctldDown, SlurmdbdDown`` (resolved: ``[RESOLVED] ...``)."""
    test = "[TEST] " if n.is_test else ""
    if n.firing:
        head = f"[FIRING:{len(n.firing)}]"
        names = _names(n.firing)
    else:
        head = "[RESOLVED]"
        names = _names(n.resolved)
    where = ", ".join(v for v in n.group_labels.values() if v)
    return f"{test}{head} {where + ': ' if where else ''}{names}"


def _names(alerts: tuple[AlertNotice, ...]) -> str:
    seen: list[str] = []
    for a in alerts:
        if a.alertname not in seen:
            seen.append(a.alertname)
    return ", ".join(seen)


def when(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{v}{u}" for v, u in parts if v][:2]
    return " ".join(shown) or "0s"


def lasted(a: AlertNotice) -> str:
    if a.ends_at is None:
        return ""
    return duration((a.ends_at - a.starts_at).total_seconds())


def where(a: AlertNotice) -> str:
    """``prod slurmctld@ctl2 (backup)``: the labels that say where, in one phrase."""
    parts = [a.labels.get("cluster", "")]
    host = a.labels.get("host")
    daemon = a.labels.get("daemon") or a.labels.get("service")
    if host:
        role = a.labels.get("role")
        parts.append(f"{daemon}@{host}" + (f" ({role})" if role else ""))
    elif daemon:
        parts.append(daemon)
    return " ".join(p for p in parts if p)

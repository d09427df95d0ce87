"""Mailing the archived reports through the configured ``email`` receiver, with its own
sending (``monitor.alerting.providers.email``: TLS, auth, secrets, error wording), so
there is one SMTP client in the program.

The mail is the receiver's ``info`` notice (the summary says whether every objective was
met, the description gives each service's availability and where the files were written)
with the report files attached."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from monitor.alerting.model import AlertNotice, Notification, dedup_key, fingerprint, group_key
from monitor.alerting.providers import email as email_provider
from monitor.alerting.providers.base import Delivery
from monitor.alerting.sender import Receiver
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.ledger.timebase import from_us
from monitor.report import text
from monitor.report.model import Report
from monitor.report.status import Status

ALERTNAME = "SlurmSLAReport"


def notification(report: Report, receiver: str, paths: Sequence[Path], now: dt.datetime):
    """The notice for ``report`` (pure)."""
    services = report.services
    breached = [s for s in services if s.status is Status.BREACHED]
    nodata = [s for s in services if s.status is Status.NO_DATA]
    clusters = ",".join(c.name for c in report.clusters)
    partial = " (partial month)" if report.partial else ""
    if breached:
        verdict = f"{len(breached)} of {len(services)} objectives BREACHED"
    elif nodata:
        verdict = f"not enough data for {len(nodata)} of {len(services)} objectives"
    else:
        verdict = f"all {len(services)} objectives " + ("on track" if report.partial else "met")
    summary = f"SLA report {report.label}{partial}: {verdict}"
    lines = [
        f"{s.cluster} {s.service}: {text.availability(s.period)} available against "
        f"{text.objective(s.period)}, {len(s.period.incidents)} incident(s), "
        f"{text.verdict(s, report.partial)}"
        for s in services
    ]
    description = "; ".join(lines) + "."
    if paths:
        description += " Reports: " + ", ".join(str(p) for p in paths) + "."
    labels = {"alertname": ALERTNAME, "severity": "info", "cluster": clusters}
    alert = AlertNotice(
        fingerprint(clusters, ALERTNAME, report.label),
        dedup_key(clusters, ALERTNAME, report.label),
        "firing",
        labels,
        {"summary": summary, "description": description},
        from_us(report.month_start),
    )
    group = {"cluster": clusters}
    return Notification(receiver, group_key(group), group, (alert,), now, "", "report")


def mail_report(
    config: Config, report: Report, paths: Sequence[Path], now: dt.datetime
) -> Delivery:
    """Send the notice through ``[report] mail_receiver`` (to ``mail_to`` if set)."""
    settings = config.report
    # in HA mode an email receiver is one of [[ha.receivers]]: the report is mailed
    # directly (Alertmanager carries no attachment), by one replica (monitor.ha.report_sender)
    receivers = [*config.receivers, *(config.ha.receivers if config.ha else ())]
    found = [rc for rc in receivers if rc.name == settings.mail_receiver]
    if not found:
        raise MonitorError(f"[report] mail_receiver: no receiver named {settings.mail_receiver!r}")
    receiver = Receiver.from_config(found[0])
    changes: dict[str, object] = {"subject_prefix": f"[SLA report {report.label}]"}
    if settings.mail_to:
        changes["to"] = settings.mail_to
    receiver = dataclasses.replace(
        receiver, options=dataclasses.replace(receiver.options, **changes)
    )
    n = notification(report, receiver.name, paths, now)
    options = receiver.options
    msg = email_provider.message(email_provider.build_payload(options, n, now), now)
    for path in paths:
        maintype, subtype = _MIME.get(path.suffix, ("application", "octet-stream"))
        if maintype == "text":  # as text, so it carries charset=utf-8
            msg.add_attachment(path.read_text("utf-8"), subtype=subtype, filename=path.name)
        else:
            msg.add_attachment(
                path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
            )
    return email_provider.deliver_message(options, msg)


_MIME = {
    ".md": ("text", "markdown"),
    ".html": ("text", "html"),
    ".json": ("application", "json"),
    ".csv": ("text", "csv"),
    ".pdf": ("application", "pdf"),
}

"""``pagerduty``: PagerDuty Events API v2, one event per alert, keyed by our dedup key
(``prod/SlurmctldDown/slurmctld``), so PagerDuty opens one incident per alert, and a resolve
(or a repeated trigger) reaches the same incident.

```toml
[[receivers]]
name = "pager"
type = "pagerduty"
routing_key_file = "/etc/slurm-sla-monitor/pd-routing-key"   # or routing_key_env / routing_key
# url = "https://events.pagerduty.com/v2/enqueue"            # the default
```

Severity mapping: critical -> critical, warning -> warning, info -> info (PagerDuty's fourth
level, ``error``, is not used).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from monitor.alerting.model import Notification, iso
from monitor.alerting.providers.base import (
    Delivery,
    Problem,
    ProviderSpec,
    ReceiverOptions,
    Secret,
    SendContext,
    check_url,
    option,
    secret,
)
from monitor.alerting.providers.outcome import post
from monitor.errors import DeliveryError

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


@dataclass(frozen=True)
class PagerDutyOptions(ReceiverOptions):
    routing_key: Secret = secret(required=True)
    url: str = option(DEFAULT_URL)
    client: str = option("slurm-sla-monitor")
    max_per_minute: int = option(120, minimum=0)  # PagerDuty's limit per integration key

    def validate(self) -> list[Problem]:
        return check_url("url", self.url)


def build_payload(
    options: PagerDutyOptions, n: Notification, now: dt.datetime
) -> list[dict[str, Any]]:
    """The events, without ``routing_key`` (added by ``send``: it is a secret)."""
    events: list[dict[str, Any]] = []
    for a in n.alerts:
        if a.status == "resolved":
            events.append({"event_action": "resolve", "dedup_key": a.dedup_key})
            continue
        labels = dict(sorted(a.labels.items()))
        summary = a.annotations.get("summary", a.alertname)
        if n.is_test:
            summary = "[TEST] " + summary
        event: dict[str, Any] = {
            "event_action": "trigger",
            "dedup_key": a.dedup_key,
            "payload": {
                "summary": summary[:1024],
                "source": labels.get("host") or labels.get("cluster", "slurm"),
                "severity": SEVERITY.get(a.severity, "critical"),
                "timestamp": iso(a.starts_at),
                "component": labels.get("daemon") or labels.get("service", ""),
                "group": labels.get("cluster", ""),
                "class": a.alertname,
                "custom_details": {
                    "description": a.annotations.get("description", ""),
                    "labels": labels,
                    "fingerprint": a.fingerprint,
                },
            },
            "client": options.client,
        }
        if n.external_url:
            event["client_url"] = n.external_url
        runbook = a.annotations.get("runbook_url")
        if runbook:
            event["links"] = [{"href": runbook, "text": "Runbook"}]
        events.append(event)
    return events


def send(options: PagerDutyOptions, n: Notification, ctx: SendContext) -> Delivery:
    try:
        key = options.routing_key.resolve("routing_key")
    except DeliveryError as exc:
        return Delivery(False, None, str(exc))
    last = Delivery(True)
    deadline = ctx.deadline_for(options)  # one for every event of the notice
    for event in build_payload(options, n, ctx.now):
        body = json.dumps({"routing_key": key, **event}).encode()
        last = post(
            ctx.http,
            options.url,
            body,
            {"Content-Type": "application/json"},
            deadline,
            ctx.now,
        )
        if not last.ok:  # the rest waits: a retry re-sends all, PagerDuty dedups
            return last
    return last


PROVIDER = ProviderSpec("pagerduty", PagerDutyOptions, build_payload, send)

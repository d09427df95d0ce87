"""``slack``: a Slack incoming webhook; one message per notification, firing in red,
resolved in green, each alert with its summary, description, since when and a runbook link.

```toml
[[receivers]]
name = "team-chat"
type = "slack"
url_file = "/etc/slurm-sla-monitor/slack-url"   # the incoming webhook URL is a secret
channel = "#hpc-alerts"                         # optional (legacy webhooks only)
max_per_minute = 60                             # Slack allows about one message a second
```
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from monitor.alerting.model import AlertNotice, Notification
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
from monitor.alerting.providers.render import lasted, title, when, where
from monitor.errors import DeliveryError

COLORS = {"critical": "#d63232", "warning": "#e8a317", "info": "#439fe0"}
RESOLVED_COLOR = "#2eb886"
ICONS = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":information_source:",
}


@dataclass(frozen=True)
class SlackOptions(ReceiverOptions):
    url: Secret = secret(required=True)
    channel: str = option("")
    username: str = option("")
    icon_emoji: str = option("")
    max_per_minute: int = option(60, minimum=0)

    def validate(self) -> list[Problem]:
        return check_url("url", self.url.value, schemes=("https", "http")) if self.url.value else []


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _line(a: AlertNotice) -> str:
    summary = _escape(a.annotations.get("summary", a.alertname))
    if a.status == "resolved":
        head = f":large_green_circle: *{a.alertname}* resolved after {lasted(a)}: {summary}"
    else:
        icon = ICONS.get(a.severity, ":red_circle:")
        head = f"{icon} *{a.alertname}* ({a.severity}): {summary}"
    lines = [head]
    description = a.annotations.get("description")
    if description:
        lines.append(f">{_escape(description)}")
    facts = [where(a), f"since {when(a.starts_at)}"]
    runbook = a.annotations.get("runbook_url")
    if runbook:
        facts.append(f"<{runbook}|runbook>")
    lines.append(" · ".join(f for f in facts if f))
    return "\n".join(lines)


def build_payload(options: SlackOptions, n: Notification, now: dt.datetime) -> dict[str, Any]:
    attachments = []
    if n.firing:
        worst = next((s for s in COLORS if any(a.severity == s for a in n.firing)), "critical")
        attachments.append(
            {
                "color": COLORS[worst],
                "title": f"Firing: {len(n.firing)}",
                "text": "\n\n".join(_line(a) for a in n.firing),
                "mrkdwn_in": ["text"],
            }
        )
    if n.resolved:
        attachments.append(
            {
                "color": RESOLVED_COLOR,
                "title": f"Resolved: {len(n.resolved)}",
                "text": "\n\n".join(_line(a) for a in n.resolved),
                "mrkdwn_in": ["text"],
            }
        )
    if n.external_url:
        attachments[-1]["footer"] = f"slurm-sla-monitor · {n.external_url}"
    payload: dict[str, Any] = {"text": _escape(title(n)), "attachments": attachments}
    for key in ("channel", "username", "icon_emoji"):
        if getattr(options, key):
            payload[key] = getattr(options, key)
    return payload


def send(options: SlackOptions, n: Notification, ctx: SendContext) -> Delivery:
    body = json.dumps(build_payload(options, n, ctx.now)).encode()
    try:
        url = options.url.resolve("url")
    except DeliveryError as exc:
        return Delivery(False, None, str(exc))
    return post(
        ctx.http,
        url,
        body,
        {"Content-Type": "application/json"},
        ctx.deadline_for(options),
        ctx.now,
    )


PROVIDER = ProviderSpec("slack", SlackOptions, build_payload, send)

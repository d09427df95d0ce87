"""``webhook``: the Prometheus Alertmanager webhook payload (version 4), so anything built
for Alertmanager webhooks accepts it.

```toml
[[receivers]]
name = "oncall"
type = "webhook"
url_file = "/etc/slurm-sla-monitor/oncall-url"   # or url = "...", url_env = "NAME"
bearer_token_env = "ONCALL_TOKEN"                 # optional: Authorization: Bearer ...
hmac_secret_file = "/etc/slurm-sla-monitor/hmac" # optional: X-Slurm-SLA-Signature
```

With ``hmac_secret`` set, the request carries ``X-Slurm-SLA-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes, so the receiver can check it came from us.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
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
    credentials_clash,
    option,
    secret,
)
from monitor.alerting.providers.outcome import post
from monitor.errors import DeliveryError


@dataclass(frozen=True)
class WebhookOptions(ReceiverOptions):
    url: Secret = secret(required=True)
    bearer_token: Secret = secret()
    hmac_secret: Secret = secret()
    signature_header: str = option("X-Slurm-SLA-Signature")
    max_alerts: int = option(0, minimum=0)  # 0: all; more are counted in truncatedAlerts

    def validate(self) -> list[Problem]:
        if not self.url.value:
            return []  # from a file or the environment: checked when sent
        clash = credentials_clash(self.url.value, self.bearer_token)
        return check_url("url", self.url.value) + ([("url", clash)] if clash else [])


def build_payload(options: WebhookOptions, n: Notification, now: dt.datetime) -> dict[str, Any]:
    alerts = n.alerts[: options.max_alerts] if options.max_alerts else n.alerts
    return {
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": len(n.alerts) - len(alerts),
        "status": n.status,
        "receiver": n.receiver,
        "groupLabels": dict(sorted(n.group_labels.items())),
        "commonLabels": n.common_labels,
        "commonAnnotations": n.common_annotations,
        "externalURL": n.external_url,
        "alerts": [
            {
                "status": a.status,
                "labels": dict(sorted(a.labels.items())),
                "annotations": dict(sorted(a.annotations.items())),
                "startsAt": iso(a.starts_at),
                "endsAt": iso(a.ends_at),
                "generatorURL": n.external_url,
                "fingerprint": a.fingerprint,
            }
            for a in alerts
        ],
    }


def signature(secret_value: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret_value.encode(), body, hashlib.sha256).hexdigest()


def send(options: WebhookOptions, n: Notification, ctx: SendContext) -> Delivery:
    body = json.dumps(build_payload(options, n, ctx.now)).encode()
    headers = {"Content-Type": "application/json"}
    try:
        url = options.url.resolve("url")
        if clash := credentials_clash(url, options.bearer_token):
            raise DeliveryError(f"url {clash}")
        if options.bearer_token:
            headers["Authorization"] = "Bearer " + options.bearer_token.resolve("bearer_token")
        if options.hmac_secret:
            key = options.hmac_secret.resolve("hmac_secret")
            headers[options.signature_header] = signature(key, body)
    except DeliveryError as exc:
        return Delivery(False, None, str(exc))
    return post(ctx.http, url, body, headers, ctx.deadline_for(options), ctx.now)


PROVIDER = ProviderSpec("webhook", WebhookOptions, build_payload, send)

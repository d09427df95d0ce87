"""``alertmanager``: POST ``/api/v2/alerts`` to every configured Alertmanager, as Prometheus
does. Alertmanager forgets an alert whose ``endsAt`` has passed, so firing alerts are
re-posted every ``repeat_interval_seconds`` (default 60 s) with ``endsAt`` four intervals
ahead, and resolved ones are re-posted for ``resend_resolved_seconds`` (default 15 min) with
their real ``endsAt``: an Alertmanager that was down or restarted learns them too. The
engine does the re-posting; this module only says how.

```toml
[[receivers]]
name = "am"
type = "alertmanager"
urls = ["http://am1:9093", "http://am2:9093"]   # every member of an HA pair
```

Delivered when at least one Alertmanager accepted it (they do not share alerts with each
other; the next re-post reaches the one that was down).
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor, wait
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
from monitor.alerting.providers.deadline import Deadline
from monitor.alerting.providers.outcome import post
from monitor.errors import DeliveryError

API_PATH = "/api/v2/alerts"


@dataclass(frozen=True)
class AlertmanagerOptions(ReceiverOptions):
    urls: tuple[str, ...] = option((), required=True)
    bearer_token: Secret = secret()
    repeat_interval_seconds: float = option(60.0, minimum=1)
    resend_resolved_seconds: float = option(900.0, minimum=0)

    def validate(self) -> list[Problem]:
        clashes = [("urls", c) for u in self.urls if (c := credentials_clash(u, self.bearer_token))]
        return [p for url in self.urls for p in check_url("urls", url)] + clashes


def build_payload(
    options: AlertmanagerOptions, n: Notification, now: dt.datetime
) -> list[dict[str, Any]]:
    ttl = dt.timedelta(seconds=4 * options.repeat_interval_seconds)
    alerts = []
    for a in n.alerts:
        alert: dict[str, Any] = {
            "labels": dict(sorted(a.labels.items())),
            "annotations": dict(sorted(a.annotations.items())),
            "startsAt": iso(a.starts_at),
            "endsAt": iso(a.ends_at if a.ends_at is not None else now + ttl),
        }
        if n.external_url:
            alert["generatorURL"] = n.external_url
        alerts.append(alert)
    return alerts


def send(options: AlertmanagerOptions, n: Notification, ctx: SendContext) -> Delivery:
    body = json.dumps(build_payload(options, n, ctx.now)).encode()
    headers = {"Content-Type": "application/json"}
    try:
        if options.bearer_token:
            headers["Authorization"] = "Bearer " + options.bearer_token.resolve("bearer_token")
    except DeliveryError as exc:
        return Delivery(False, None, str(exc))
    deadline = ctx.deadline_for(options)
    own = [deadline.child() for _ in options.urls]

    def post_to(url: str, limit: Deadline) -> Delivery:
        return post(ctx.http, url.rstrip("/") + API_PATH, body, headers, limit, ctx.now)

    # At once, not one after another: a dead member must not spend the deadline of the
    # one that is up; and answer a little before the deadline, so what the members that
    # answered said is not lost with the attempt.
    pool = ThreadPoolExecutor(max_workers=len(options.urls) or 1)
    pairs = zip(options.urls, own, strict=True)
    futures = [pool.submit(post_to, url, limit) for url, limit in pairs]
    wait(futures, max(0.0, deadline.remaining() - min(1.0, deadline.seconds / 4)))
    pool.shutdown(wait=False)
    results = []
    for future, limit in zip(futures, own, strict=True):
        if not future.done():
            limit.expire()  # cut the member still talking: nobody waits for it now
        results.append(future.result() if future.done() else Delivery(False, None, limit.message))
    accepted = [r for r in results if r.ok]
    failures = "; ".join(f"urls[{i}]: {r.error}" for i, r in enumerate(results) if not r.ok)
    if accepted:
        return Delivery(True, accepted[0].status, note=failures)
    retry_after = max((r.retry_after or 0 for r in results), default=0) or None
    return Delivery(
        False,
        results[0].status if results else None,
        failures,
        retry_after,
        throttled=all(r.throttled for r in results),
    )


PROVIDER = ProviderSpec("alertmanager", AlertmanagerOptions, build_payload, send)

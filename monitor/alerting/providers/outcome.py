"""What an HTTP receiver's answer means for a delivery: 2xx delivered, 429 throttled (with
``Retry-After``), anything else failed, and a network failure failed with its URL-free
message. Pure: the transport (:class:`monitor.alerting.providers.http.HttpClient`, on
``requests``) comes in through :class:`~monitor.alerting.providers.base.SendContext`, so a
provider module, and the config reading its options, never loads the HTTP library.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from monitor.alerting.providers.base import Delivery
from monitor.alerting.providers.deadline import Deadline
from monitor.errors import DeliveryError


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    text: str


class HttpPoster(Protocol):
    """The transport a provider posts through (``HttpClient``; a recorder in tests)."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline: Deadline
    ) -> HttpResponse: ...


def outcome(resp: HttpResponse, now: dt.datetime) -> Delivery:
    """2xx delivered; 429 throttled; anything else failed (retried by the outbox)."""
    if 200 <= resp.status < 300:
        return Delivery(True, resp.status)
    retry_after = parse_retry_after(resp.headers.get("Retry-After"), now)
    detail = " ".join(resp.text.split())[:120]
    return Delivery(
        False,
        resp.status,
        f"HTTP {resp.status}" + (f": {detail}" if detail else ""),
        retry_after,
        throttled=resp.status == 429,
    )


def post(
    http: HttpPoster,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    deadline: Deadline,
    now: dt.datetime,
) -> Delivery:
    try:
        return outcome(http.post(url, body, headers, deadline), now)
    except DeliveryError as exc:
        return Delivery(False, None, str(exc))


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait: ``Retry-After`` is delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())

"""HTTP for the receivers: one POST, and its outcome as a :class:`Delivery`.

Error messages are built here from the failure's kind (refused, timed out, TLS, HTTP
status), never from the library's text, because that text contains the URL, and a Slack
or webhook URL is a secret.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from monitor import __version__
from monitor.alerting.providers.base import Delivery
from monitor.errors import DeliveryError

USER_AGENT = f"slurm-sla-monitor/{__version__}"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    text: str


class HttpClient:
    """One ``requests`` session per thread (the sender delivers to receivers in parallel)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse:
        """POST ``body``; a network failure raises :class:`DeliveryError` (URL-free)."""
        try:
            resp = self._session.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            raise DeliveryError(f"connect timed out after {timeout:g} s") from None
        except requests.exceptions.Timeout:
            raise DeliveryError(f"no answer within {timeout:g} s") from None
        except requests.exceptions.SSLError:
            raise DeliveryError("TLS handshake failed") from None
        except requests.exceptions.ConnectionError as exc:
            text = str(exc).lower()
            if "refused" in text:
                raise DeliveryError("connection refused") from None
            if "name or service" in text or "resolve" in text:
                raise DeliveryError("host name not resolved") from None
            if "reset" in text or "aborted" in text or "remote end closed" in text:
                raise DeliveryError("connection closed by the receiver") from None
            raise DeliveryError("connection failed") from None
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise DeliveryError(f"request failed ({type(exc).__name__})") from None
        return HttpResponse(resp.status_code, dict(resp.headers), resp.text[:500])


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
    http: HttpClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    now: dt.datetime,
) -> Delivery:
    try:
        return outcome(http.post(url, body, headers, timeout), now)
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

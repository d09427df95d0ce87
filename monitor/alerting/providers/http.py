"""HTTP for the receivers: one POST within its attempt's :class:`Deadline` (what its answer
means for the delivery is :mod:`.outcome`'s; the sender hands this client to the providers).

Error messages are built here from the failure's kind (refused, timed out, TLS, HTTP
status), never from the library's text, because that text contains the URL, and a Slack
or webhook URL is a secret.

The deadline covers connect, TLS, send, the status line and headers: each socket read gets
the time that remains, and when the deadline expires the connection is shut down (urllib3's
connection classes register each socket with it), so a receiver trickling its answer byte by
byte cannot hold the attempt. A 2xx status means the receiver accepted the notice: its body is
not waited for (retrying because a body was slow would page twice). Another status's body
is read, within the deadline and at most :data:`MAX_BODY` bytes, for the error detail.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from typing import Any

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool

from monitor import __version__
from monitor.alerting.providers.deadline import Deadline
from monitor.alerting.providers.outcome import HttpResponse
from monitor.errors import DeliveryError

USER_AGENT = f"slurm-sla-monitor/{__version__}"
MAX_BODY = 64 * 1024

# The deadline of the request this thread is making: urllib3 builds connections deep
# inside requests, with no way to hand them an argument.
_current = threading.local()


class _Watched(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadline: Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:  # before TLS: a trickled handshake is cut too
            _current.twins.append(deadline.watch(sock))
        return sock


class _HTTPConnection(_Watched):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _CuttableAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections can be cut by the attempt's deadline (a SOCKS
    proxy keeps its own classes: its attempts are bounded by the sender, not cut)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


class HttpClient:
    """A fresh session per POST: every socket of an attempt is its own, so cutting it at
    the deadline never touches another attempt (alerts are too few to miss keep-alive)."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline: Deadline
    ) -> HttpResponse:
        """POST ``body``; a network failure or the deadline raises :class:`DeliveryError`
        (URL-free)."""
        _current.deadline, _current.twins = deadline, []
        try:
            with requests.Session() as session:
                adapter = _CuttableAdapter(max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                return self._exchange(session, url, body, headers, deadline)
        finally:
            for twin in _current.twins:  # the session closed the sockets themselves
                deadline.release(twin)
            _current.deadline, _current.twins = None, []

    def _exchange(
        self,
        session: requests.Session,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        deadline: Deadline,
    ) -> HttpResponse:
        if deadline.expired:
            raise DeliveryError(deadline.message)
        try:
            resp = session.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                timeout=max(deadline.remaining(), 0.001),
                allow_redirects=False,
                stream=True,
            )
        except Exception as exc:  # noqa: BLE001 - mapped to a URL-free message
            raise DeliveryError(_failure(exc, deadline)) from None
        with resp:  # a 2xx is accepted as it stands: its body is not waited for
            accepted = 200 <= resp.status_code < 300
            text = "" if accepted else _read_text(resp, deadline)
        return HttpResponse(resp.status_code, dict(resp.headers), text)


def _read_text(resp: requests.Response, deadline: Deadline) -> str:
    """What of the body arrives within the deadline, up to :data:`MAX_BODY` bytes."""
    got = bytearray()
    try:
        for chunk in resp.raw.stream(4096, decode_content=True):
            got += chunk
            if len(got) >= MAX_BODY or deadline.expired:
                break
    except Exception:  # noqa: BLE001, S110 - cut, reset or garbled: the status decides
        pass
    return bytes(got[:MAX_BODY]).decode("utf-8", errors="replace")[:500]


def _failure(exc: Exception, deadline: Deadline) -> str:
    """A network failure in words that never contain the URL."""
    if deadline.expired or isinstance(exc, requests.exceptions.Timeout):
        return deadline.message  # a cut socket looks like a reset: say what happened
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused"
        if "name or service" in text or "resolve" in text:
            return "host name not resolved"
        if "reset" in text or "aborted" in text or "remote end closed" in text:
            return "connection closed by the receiver"
        return "connection failed"
    return f"request failed ({type(exc).__name__})"

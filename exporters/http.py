"""The HTTP endpoint: ``/metrics``, ``/healthz``, ``/status`` (when given) and a small index.

Served from the last snapshot only: a scrape never runs a Slurm command or waits for a
probe, so a frozen slurmctld cannot slow ``/metrics`` down. The connection handling (TLS,
deadlines, the connection cap) is :mod:`exporters.http_server`'s; this module decides what
each request gets.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from exporters.basic_auth import BasicAuth, Decision
from exporters.exposition import ExpositionCache, render_by_family
from exporters.http_server import HttpServer, Limits, Request, Response
from exporters.web_config import WebConfig

_INDEX = b"""<!doctype html><html><head><title>slurm-sla-monitor</title></head><body>
<h1>slurm-sla-monitor</h1><ul><li><a href="metrics">/metrics</a></li>
<li><a href="healthz">/healthz</a></li><li><a href="status">/status</a></li></ul></body></html>
"""
_UNAUTHORIZED = Response(
    401, b"Unauthorized\n", headers=(("WWW-Authenticate", 'Basic realm="slurm-sla-monitor"'),)
)

_GZIP = (("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding"))

_BUSY = Response(503, b"Too many login attempts at once; retry\n", headers=(("Retry-After", "1"),))


class StatusPages(Protocol):
    """The status page's paths (``/status``, ``/status.json``), answered by their owner."""

    def handles(self, path: str) -> bool: ...

    def open(self) -> bool:
        """True: served without basic auth (``/metrics`` keeps it)."""
        ...

    def answer(self, target: str) -> Response: ...


class LedgerExport(Protocol):
    """``GET /ledger/export?since=CURSOR``: this replica's ledger records for its HA peers
    (:mod:`monitor.ledger.exchange`), behind the same basic auth as ``/metrics``."""

    def answer(self, target: str) -> Response: ...


class PeerView(Protocol):
    """``GET /ha/view``: this replica's live view for its HA peers (:mod:`monitor.ha.view`),
    behind the same basic auth as ``/metrics``."""

    def answer(self, target: str) -> Response: ...


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: dict[str, Any]


class MetricsServer:
    """The endpoint; ``start`` returns at once, ``stop`` waits for it. ``set_web_config``
    swaps TLS, users and headers while it runs (a reload)."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        health: Callable[[], Health],
        web: WebConfig | None = None,
        limits: Limits | None = None,
        status: StatusPages | None = None,
        ledger: LedgerExport | None = None,
        view: PeerView | None = None,
    ) -> None:
        limits = limits or Limits()
        self._app = _App(registry, health, web or WebConfig(), limits.workers, status)
        self._app.ledger = ledger
        self._app.view = view
        self._server = HttpServer(
            host,
            port,
            self._app.handle,
            tls=web.ssl_context if web else None,
            limits=limits,
            quick=self._app.quick,
        )
        registry.register(_ConnectionCollector(self._server))
        registry.register(_RenderCollector(self._app.exposition))

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def open_connections(self) -> int:
        return self._server.open_connections

    def set_web_config(self, web: WebConfig | None) -> None:
        web = web or WebConfig()
        self._app.set_web(web)
        self._server.tls = web.ssl_context

    def metrics_changed(self) -> None:
        """The snapshot changed: /metrics is rendered again (in the background)."""
        self._app.exposition.changed()

    def start(self) -> None:
        self._app.exposition.start()
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
        self._app.exposition.stop()


class _App:
    def __init__(
        self,
        registry: CollectorRegistry,
        health: Callable[[], Health],
        web: WebConfig,
        workers: int,
        status: StatusPages | None = None,
    ) -> None:
        self._registry = registry
        self._health = health
        self._status = status
        self.ledger: LedgerExport | None = None
        self.view: PeerView | None = None
        self.exposition = ExpositionCache()
        # bcrypt takes tens of ms a try: guessers may use all but one worker, so a scraper
        # whose credentials were verified before is still answered while they guess.
        self._verifying = threading.BoundedSemaphore(max(1, workers - 1))
        self.set_web(web)

    def set_web(self, web: WebConfig) -> None:
        # one tuple, replaced whole: a request sees the old or the new config, never a mix
        self._web = (BasicAuth(web.users), web.headers)

    def handle(self, request: Request) -> Response:
        auth, headers = self._web
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"Method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        status = self._status
        if status is not None and status.handles(request.path) and status.open():
            response = status.answer(request.target)  # [status] auth = false: no login
        else:
            refusal = self._refusal(auth, request.headers.get("Authorization"))
            response = refusal or self._route(request)
        return _with_headers(response, headers)

    def quick(self, request: Request) -> Response | None:
        """A scrape answered on the server's event loop, with no hop to a worker thread:
        the bytes already rendered, to a client allowed without bcrypt. None for anything
        else (the workers answer it). 50 scrapers back to back spent most of their wait on
        the hop and its GIL handoffs."""
        auth, headers = self._web
        if request.path != "/metrics" or request.method not in ("GET", "HEAD"):
            return None
        if auth.quick(request.headers.get("Authorization")) is not Decision.ALLOW:
            return None
        response = self._metrics(request, wait=False)
        return _with_headers(response, headers) if response is not None else None

    def _metrics(self, request: Request, *, wait: bool) -> Response | None:
        """``/metrics``: the last render's bytes; when there are none yet, rendered now
        (``wait``) or None."""
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        gzipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
        # Prometheus asks for gzip: at fleet size 20 MB become ~1 MB, compressed once per
        # render, not per scrape.
        key = content_type + ";gzip" if gzipped else content_type
        body = self.exposition.peek(key)
        if body is None and wait:

            def render() -> bytes:
                text = render_by_family(encoder, self._registry)
                return gzip.compress(text, 1, mtime=0) if gzipped else text

            body = self.exposition.get(key, render)
        if body is None:
            return None
        return Response(200, body, content_type, headers=_GZIP if gzipped else ())

    def _refusal(self, auth: BasicAuth, header: str | None) -> Response | None:
        """None when the request may go on, else the answer that refuses it."""
        decision = auth.quick(header)
        if decision is Decision.VERIFY:
            if not self._verifying.acquire(blocking=False):
                return _BUSY
            try:
                decision = Decision.ALLOW if auth.check(header) else Decision.DENY
            finally:
                self._verifying.release()
        return None if decision is Decision.ALLOW else _UNAUTHORIZED

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/metrics":
            response = self._metrics(request, wait=True)
            assert response is not None  # wait=True renders when nothing is rendered yet
            return response
        if path == "/healthz":
            report = self._health()
            body = json.dumps({"status": "ok" if report.ok else "unhealthy", **report.detail})
            return Response(200 if report.ok else 503, body.encode() + b"\n", "application/json")
        if self._status is not None and self._status.handles(path):
            return self._status.answer(request.target)
        if path == "/ledger/export" and self.ledger is not None:
            return self.ledger.answer(request.target)
        if path == "/ha/view" and self.view is not None:
            return self.view.answer(request.target)
        if path == "/":
            return Response(200, _INDEX, "text/html; charset=utf-8")
        return Response(404, b"Not found\n")


class _ConnectionCollector:
    """The endpoint's connections, so a flood of idle or slow clients shows on a dashboard."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        server = self._server
        yield GaugeMetricFamily(
            "slurm_sla_monitor_http_connections",
            "Open connections to this endpoint, handshakes included.",
            value=server.open_connections,
        )
        closed = CounterMetricFamily(
            "slurm_sla_monitor_http_connections_closed",
            "Connections the endpoint closed without an answer: refused (every slot busy), "
            "evicted (the oldest waiting one, to make room) or timeout (a deadline passed).",
            labels=["reason"],
        )
        closed.add_metric(["refused"], server.refused)
        closed.add_metric(["evicted"], server.evicted)
        closed.add_metric(["timeout"], server.timed_out)
        yield closed


class _RenderCollector:
    """What rendering /metrics costs: at fleet size the renders' period grows with it."""

    def __init__(self, exposition: ExpositionCache) -> None:
        self._exposition = exposition

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "slurm_sla_monitor_metrics_render_seconds",
            "Wall time of the last render of this exposition (rendered in the background "
            "when the snapshot changes; a scrape sends the last render's bytes).",
            value=self._exposition.last_render_seconds,
        )
        yield GaugeMetricFamily(
            "slurm_sla_monitor_metrics_render_period_seconds",
            "The shortest time between two renders now (it grows with the render's cost).",
            value=self._exposition.period,
        )
        # Read while rendering: a scraper sees how old the bytes it got are.
        yield GaugeMetricFamily(
            "slurm_sla_monitor_metrics_rendered_timestamp_seconds",
            "When this exposition was rendered (a scrape sends the last render's bytes).",
            value=time.time(),
        )


def _with_headers(response: Response, headers: tuple[tuple[str, str], ...]) -> Response:
    """``response`` with the web config's extra headers."""
    if not headers:
        return response
    return Response(
        response.status, response.body, response.content_type, response.headers + headers
    )


def accepts_gzip(header: str) -> bool:
    """``Accept-Encoding`` allows gzip (``gzip`` or ``*``, with no ``q=0``)."""
    for item in header.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        q = params.replace(" ", "").lower().removeprefix("q=")
        try:
            return not params.strip() or float(q) > 0
        except ValueError:
            return False
    return False

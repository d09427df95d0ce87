"""The HTTP endpoint: ``/metrics``, ``/healthz`` and a small index.

Served from the last snapshot only: a scrape never runs a Slurm command or waits for a
probe, so a frozen slurmctld cannot slow ``/metrics`` down.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from exporters.web_config import BasicAuth, WebConfig

_INDEX = b"""<!doctype html><html><head><title>slurm-sla-monitor</title></head><body>
<h1>slurm-sla-monitor</h1><ul><li><a href="metrics">/metrics</a></li>
<li><a href="healthz">/healthz</a></li></ul></body></html>
"""


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: dict[str, Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when many scrapers arrive at once, and a
    # dropped SYN costs the client a 1 s retransmit.
    request_queue_size = 128


class MetricsServer:
    """A threaded HTTP server; ``start`` returns at once, ``stop`` waits for it."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        health: Callable[[], Health],
        web: WebConfig | None = None,
    ) -> None:
        auth = BasicAuth(web.users if web else {})
        handler = _make_handler(registry, health, auth)
        try:
            self._server = _Server((host.strip("[]"), port), handler)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        if web and web.ssl_context:
            self._server.socket = web.ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _RenderCache:
    """The rendered exposition, reused for ``max_age`` seconds: many scrapers at once (HA
    Prometheus pairs, federation, people) then cost one render, not one each. The values
    come from a snapshot that changes once a round, so a second of reuse hides nothing."""

    def __init__(self, max_age: float = 1.0) -> None:
        self._max_age = max_age
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, bytes]] = {}

    def get(self, key: str, render: Callable[[], bytes]) -> bytes:
        with self._lock:  # one render at a time; the others wait for it and reuse it
            hit = self._entries.get(key)
            if hit is not None and time.monotonic() - hit[0] < self._max_age:
                return hit[1]
            body = render()
            self._entries[key] = (time.monotonic(), body)
            return body


def _make_handler(
    registry: CollectorRegistry, health: Callable[[], Health], auth: BasicAuth
) -> type[BaseHTTPRequestHandler]:
    exposition = _RenderCache()

    class Handler(BaseHTTPRequestHandler):
        server_version = "slurm-sla-monitor"
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not auth.check(self.headers.get("Authorization")):
                self._send(
                    401,
                    b"Unauthorized\n",
                    "text/plain",
                    {"WWW-Authenticate": 'Basic realm="slurm-sla-monitor"'},
                )
                return
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                body = exposition.get(content_type, lambda: encoder(registry))
                self._send(200, body, content_type)
            elif path == "/healthz":
                report = health()
                body = (
                    json.dumps(
                        {"status": "ok" if report.ok else "unhealthy", **report.detail}
                    ).encode()
                    + b"\n"
                )
                self._send(200 if report.ok else 503, body, "application/json")
            elif path == "/":
                self._send(200, _INDEX, "text/html; charset=utf-8")
            else:
                self._send(404, b"Not found\n", "text/plain")

        def _send(
            self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # access logs would drown the probe logs; Prometheus records scrapes

    return Handler

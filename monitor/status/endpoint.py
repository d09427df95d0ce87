"""The daemon's ``/status`` and ``/status.json``: the page from the ledger and the live
snapshot, on the HTTP server's worker threads.

The store is read through a connection of its own, so a page never waits behind the
daemon's writes on the shared one; a page is reused for a few seconds, so a refreshing
crowd costs one build (the figures change once a round at most).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import structlog

from exporters.http_server import Response
from monitor.config import Config
from monitor.errors import StoreError
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import to_us
from monitor.snapshot import Snapshot
from monitor.statestore import open_state_store
from monitor.status.customers import UnknownCustomer
from monitor.status.model import Live, build_status
from monitor.status.render_html import render_html
from monitor.status.render_json import render_json

log = structlog.get_logger("slurm_sla_monitor")

PATHS = {"/status": ("text/html; charset=utf-8", render_html),
         "/status.json": ("application/json", render_json)}  # fmt: skip
MAX_AGE_SECONDS = 5.0


def live_states(snapshot: Snapshot) -> dict[tuple[str, str], Live]:
    """The snapshot's service states after hysteresis, by (cluster, service)."""
    out = {}
    for cluster in snapshot.clusters:
        for name, s in cluster.services.items():
            out[(cluster.name, name)] = Live(
                str(s.state),
                to_us(s.since),
                s.cause,
                s.active.hostname if s.active else None,
                s.active.role if s.active else None,
            )
    return out


class StatusEndpoint:
    """``answer(request target)`` for the two paths; ``open`` says whether they are served
    without the web config's basic auth (``[status] auth = false``)."""

    def __init__(
        self,
        config: Callable[[], Config],
        snapshot: Callable[[], Snapshot],
        now: Callable[[], int],
        max_age: float = MAX_AGE_SECONDS,
    ) -> None:
        self._config = config
        self._snapshot = snapshot
        self._now = now
        self._max_age = max_age
        self._lock = threading.Lock()  # one build at a time; the others reuse it
        self._store: LedgerStore | None = None
        self._store_dir: Path | None = None
        self._cache: dict[tuple[str, str | None], tuple[float, Config, Response]] = {}

    def open(self) -> bool:
        return not self._config().status.auth

    def handles(self, path: str) -> bool:
        return path in PATHS

    def answer(self, target: str) -> Response:
        path, _, query = target.partition("?")
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        customers = params.get("customer")
        customer = customers[-1] if customers else None
        config = self._config()
        key = (path, customer)
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[1] is config and time.monotonic() - hit[0] < self._max_age:
                return hit[2]
            response = self._build(path, customer, config)
            self._cache = {k: v for k, v in self._cache.items() if v[1] is config}
            self._cache[key] = (time.monotonic(), config, response)
            return response

    def _build(self, path: str, customer: str | None, config: Config) -> Response:
        content_type, render = PATHS[path]
        try:
            store = self._open(config)
            page = build_status(
                store, config, self._now(), customer=customer,
                live=live_states(self._snapshot()),
            )  # fmt: skip
        except UnknownCustomer as exc:
            return Response(404, f"{exc}\n".encode())
        except StoreError as exc:
            self._close()
            log.warning("status.store_unreadable", error=str(exc))
            return Response(503, b"The SLA ledger cannot be read now; retry later\n",
                            headers=(("Retry-After", "10"),))  # fmt: skip
        return Response(200, render(page), content_type, (("Cache-Control", "no-cache"),))

    def _open(self, config: Config) -> LedgerStore:
        state_dir = config.monitor.state_dir
        if self._store is None or self._store_dir != state_dir:
            self._close()
            self._store = LedgerStore(open_state_store(state_dir, create=False))
            self._store_dir = state_dir
        return self._store

    def _close(self) -> None:
        if self._store is not None:
            self._store.db.close()
        self._store = None

    def close(self) -> None:
        with self._lock:
            self._close()

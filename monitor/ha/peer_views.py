"""Fetches every peer's live view (``GET /ha/view``) once per probe interval, each peer on
its own thread with a bounded timeout, and keeps the last one of each with the monotonic
time its request was sent: the view's age here is its own age at the peer plus the time
since then, an upper bound whatever the transit took. A dead or slow peer delays nothing
(nothing waits on this thread) and its view simply grows old, which is what makes the gate
page as if alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import structlog

from monitor.ha.gate import PeerSight
from monitor.ha.view import PATH, View, ViewError, parse_view

log = structlog.get_logger("slurm_sla_monitor")

BasicAuth = tuple[str, str] | None
# (basic auth, requests' verify: True or a CA bundle's path), read before each pass
Credentials = Callable[[], tuple[BasicAuth, bool | str]]
# (url, credentials, timeout) -> the answer's body; OSError or ViewError when it failed
Fetch = Callable[[str, tuple[BasicAuth, bool | str], float], bytes]
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class Received:
    view: View
    sent_at: float  # monotonic, when the request that brought it was sent


def http_fetch(url: str, credentials: tuple[BasicAuth, bool | str], timeout: float) -> bytes:
    import requests  # only the daemon's HA threads need it

    auth, verify = credentials
    try:
        answer = requests.get(url.rstrip("/") + PATH, auth=auth, verify=verify, timeout=timeout)
    except requests.RequestException as exc:
        raise OSError(str(exc)) from None
    if answer.status_code != 200:
        raise OSError(f"HTTP {answer.status_code}")
    return answer.content


class PeerViews:
    """``peers()`` and ``interval()`` are read at each pass, so a reload applies."""

    def __init__(
        self,
        peers: Callable[[], Sequence[str]],
        interval: Callable[[], float],
        *,
        timeout: Callable[[], float],
        credentials: Credentials = lambda: (None, True),
        fetch: Fetch = http_fetch,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self._peers, self._interval, self._timeout = peers, interval, timeout
        self._credentials, self._fetch, self._monotonic = credentials, fetch, monotonic
        self._lock = threading.Lock()
        self._last: dict[str, Received] = {}
        self._failures: dict[str, int] = {}
        self._failing: set[str] = set()  # logged once per change, not once per pass
        self._auth_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ha-view")
        self._inflight: dict[str, Future[None]] = {}

    # -- reading -------------------------------------------------------------------------
    def sights(self, cluster: str) -> list[PeerSight]:
        """Every peer's last view of ``cluster``, its ages as of now on this clock."""
        now = self._monotonic()
        with self._lock:
            received = list(self._last.values())
        out = []
        for r in received:
            c = r.view.clusters.get(cluster)
            if c is None:
                continue
            late = max(0.0, now - r.sent_at)
            out.append(
                PeerSight(
                    r.view.replica,
                    dict(c.services),
                    {s: a + late for s, a in c.ages.items()},
                    {(d.daemon, d.host): (d.state, d.reason) for d in c.daemons},
                )
            )
        return out

    def ages(self) -> dict[str, float]:
        """peer URL -> seconds since its last view was asked for (only peers seen once)."""
        now = self._monotonic()
        with self._lock:
            return {url: max(0.0, now - r.sent_at) for url, r in self._last.items()}

    def failures(self) -> dict[str, int]:
        with self._lock:
            return dict(self._failures)

    # -- fetching ------------------------------------------------------------------------
    def run_once(self) -> None:
        """Ask every peer; a peer whose previous request is still out is not asked again."""
        try:
            credentials = self._credentials()
        except Exception as exc:  # noqa: BLE001 - no credentials: every peer is silent
            if str(exc) != self._auth_error:  # once per cause, not twice per interval
                log.warning("ha.view_auth_failed", error=str(exc))
                self._auth_error = str(exc)
            return
        self._auth_error = None
        for url in self._peers():
            pending = self._inflight.get(url)
            if pending is not None and not pending.done():
                continue
            self._inflight[url] = self._pool.submit(self._ask, url, credentials)

    def _ask(self, url: str, credentials: tuple[BasicAuth, bool | str]) -> None:
        sent = self._monotonic()
        try:
            view = parse_view(self._fetch(url, credentials, self._timeout()))
        except (OSError, ViewError) as exc:
            with self._lock:
                self._failures[url] = self._failures.get(url, 0) + 1
                first = url not in self._failing
                self._failing.add(url)
            if first:
                log.warning("ha.view_failed", peer=url, error=str(exc))
            return
        with self._lock:
            self._last[url] = Received(view, sent)
            back = url in self._failing
            self._failing.discard(url)
        if back:
            log.info("ha.view_recovered", peer=url, replica=view.replica)

    def start(self) -> None:
        """Ask every peer once and wait for the answers (at most the request timeout), then
        go on asking on a thread: a replica's first rounds come before any view would
        otherwise have arrived, and a Down it saw then would page before its peer is
        heard. A peer that refuses or is not there yet answers at once: no wait."""
        self.run_once()
        wait(list(self._inflight.values()), timeout=self._timeout() + 0.5)
        self._thread = threading.Thread(target=self._loop, name="ha-views", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval()):
            self.run_once()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

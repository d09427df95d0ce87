"""Both ends of the ledger exchange between HA replicas (format: ``ledger.exchange``):
the page that answers ``GET /ledger/export?since=CURSOR`` on the monitor's HTTP endpoint,
and the puller that fetches a peer's records into ``state_dir/peers/NAME.sqlite3``.

The puller keeps one cursor per peer URL in ``state_dir/peers/cursors.json`` and asks
from ``cursor - OVERLAP_US`` (see ``exchange``): the first pull fetches everything.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import structlog

from exporters.http_server import Response
from monitor.errors import MonitorError
from monitor.ha.peer_auth import PeerAuth
from monitor.ledger.exchange import (
    OVERLAP_US,
    PATH,
    export_lines,
    import_export,
    open_read_only,
    parse_export,
)
from monitor.ledger.replicas import PEERS_DIR, peer_path
from monitor.store.db import DB_NAME

CURSORS = "cursors.json"
log = structlog.get_logger("slurm_sla_monitor")
CONTENT_TYPE = "application/x-ndjson"


class ExportPage:
    """``/ledger/export``: ``state_dir`` and ``replica`` are read at each request (a
    reload may change them). ``replica``: ``[ha] replica``, this ledger's name for its
    peers."""

    def __init__(self, state_dir: Callable[[], Path], replica: Callable[[], str]) -> None:
        self._state_dir = state_dir
        self._replica = replica

    def answer(self, target: str) -> Response:
        query = parse_qs(urlsplit(target).query)
        try:
            since = int(query.get("since", ["0"])[0])
        except ValueError:
            return Response(400, b"since: an integer (microseconds since the epoch)\n")
        path = self._state_dir() / DB_NAME
        if not path.exists():
            return Response(404, b"no state store yet\n")
        try:
            conn = open_read_only(path)
            try:
                body = b"".join(export_lines(conn, self._replica(), since))
            finally:
                conn.close()
        except (MonitorError, sqlite3.Error, OSError) as exc:  # answered, the server goes on
            return Response(503, f"cannot read the ledger: {exc}\n".encode())
        return Response(200, body, CONTENT_TYPE)


@dataclass(frozen=True)
class PullStatus:
    """One peer's pulls, for /metrics: whether the last one worked, and when one last did
    (wall clock, seconds; None before the first success)."""

    url: str
    ok: bool
    last_success: float | None


@dataclass(frozen=True)
class Pulled:
    url: str
    replica: str
    records: int  # new or changed
    cursor: int
    path: Path


def pull(
    url: str,
    state_dir: Path,
    *,
    auth: tuple[str, str] | None = None,
    verify: bool | str = True,
    timeout: float = 30.0,
    session=None,
) -> Pulled:
    """One pull from the peer at ``url`` (its HTTP endpoint's base URL) into
    ``state_dir/peers``. MonitorError with the reason when it fails; a failed pull leaves
    what was stored before as it was."""
    import requests  # only the puller needs it: the config reader must not load it

    cursors = _read_cursors(state_dir)
    known = cursors.get(url, {})
    since = max(0, int(known.get("cursor", 0)) - OVERLAP_US) if known else 0
    endpoint = url.rstrip("/") + PATH
    try:
        answer = (session or requests).get(
            endpoint, params={"since": since}, auth=auth, verify=verify, timeout=timeout
        )
    except requests.RequestException as exc:
        raise MonitorError(f"{endpoint}: {exc}") from None
    if answer.status_code != 200:
        first = answer.text.strip().splitlines()[:1]
        raise MonitorError(f"{endpoint}: HTTP {answer.status_code} {' '.join(first)}".rstrip())
    export = parse_export(answer.content)
    if known.get("name") not in (None, export.replica):
        raise MonitorError(
            f"{endpoint} now names itself {export.replica!r}, was {known['name']!r}: "
            f"remove {state_dir / PEERS_DIR / CURSORS} to start again"
        )
    path = peer_path(state_dir, export.replica)
    changed = import_export(path, export)
    cursors[url] = {"name": export.replica, "cursor": max(export.cursor, since)}
    _write_cursors(state_dir, cursors)
    return Pulled(url, export.replica, changed, export.cursor, path)


def _read_cursors(state_dir: Path) -> dict[str, dict[str, object]]:
    path = state_dir / PEERS_DIR / CURSORS
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise MonitorError(
            f"{path}: unreadable ({exc}); remove it to pull everything again"
        ) from None
    return data if isinstance(data, dict) else {}


def _write_cursors(state_dir: Path, cursors: dict[str, dict[str, object]]) -> None:
    directory = state_dir / PEERS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{CURSORS}.", dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(cursors, f, indent=1, sort_keys=True)
    os.replace(tmp, directory / CURSORS)


PULL_INTERVAL_SECONDS = 60.0


def _no_auth() -> PeerAuth:
    return PeerAuth(None, True, "none")


class PeerPuller:
    """Pulls every peer (``peers()``, read at each pass: a reload applies) every
    ``interval`` seconds on its own thread, off the probe rounds: a slow or dead peer
    delays only the next pull. A failure is logged and retried at the next pass; what
    was pulled before stays. ``credentials()`` is asked at each pass too (the service
    gives ``monitor.ha.peer_auth.peer_auth`` of the live config: a rotated password or a
    reload applies); where they come from is logged when it changes, never the secret."""

    def __init__(
        self,
        peers: Callable[[], Sequence[str]],
        state_dir: Callable[[], Path],
        *,
        interval: float = PULL_INTERVAL_SECONDS,
        credentials: Callable[[], PeerAuth] = _no_auth,
        fetch: Callable[..., Pulled] = pull,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._peers, self._state_dir = peers, state_dir
        self._interval, self._credentials, self._fetch = interval, credentials, fetch
        self._wall = wall  # a timestamp for /metrics, never a duration
        self._source: str | None = None
        self._success: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: dict[str, Pulled | str] = {}  # per URL: the last pull, or its error

    def run_once(self) -> dict[str, Pulled | str]:
        try:
            credentials = self._credentials()
        except MonitorError as exc:
            for url in self._peers():
                self.last[url] = str(exc)
            log.warning("ha.pull_failed", peer=None, error=str(exc))
            return dict(self.last)
        if credentials.source != self._source:
            self._source = credentials.source
            log.info("ha.peer_auth", source=credentials.source, ca=credentials.verify)
        for url in self._peers():
            if self._stop.is_set():
                break
            try:
                self.last[url] = self._fetch(
                    url, self._state_dir(), auth=credentials.auth, verify=credentials.verify
                )
                self._success[url] = self._wall()
            except MonitorError as exc:
                self.last[url] = str(exc)
                log.warning("ha.pull_failed", peer=url, error=str(exc))
        return dict(self.last)

    def status(self) -> tuple[PullStatus, ...]:
        """The configured peers' pulls so far (a peer a reload removed is left out)."""
        last, success = dict(self.last), dict(self._success)  # copies: the thread writes
        return tuple(
            PullStatus(url, isinstance(last[url], Pulled), success.get(url))
            for url in self._peers()
            if url in last
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ha-pull", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

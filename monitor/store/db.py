"""Opening the SQLite store: WAL, an integrity check at start, forward migrations.

Every failure is a :class:`StoreError` that names the file and the cause (read-only, full
disk, locked, corrupt): the daemon reports it (log, metric, ``/healthz``) rather than lose
state silently. Nothing here ever deletes or rewrites committed rows.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import StoreError

DB_NAME = "slurm-sla-monitor.sqlite3"


class StoreBusy(StoreError):
    """Another thread holds the connection longer than this caller would wait."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


class Database:
    """One connection, serialised by a lock (SQLite writes are serial anyway, and the
    daemon's writes are a few rows per state change). ``transaction`` commits or rolls
    back as a whole.

    A write on a frozen file system hangs while it holds the connection: ``busy_seconds``
    tells how long the current holder has had it, and a thread that must not hang behind
    it (the probe rounds) sets a limit with ``waiting_at_most`` and gets ``StoreBusy``.

    ``migrations`` come from the caller: the store owns no table, each feature owns its
    schema, and whoever opens the store says which features share it
    (:data:`monitor.statestore.MIGRATIONS` for the state store)."""

    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[Migration],
        timeout: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._monotonic = monotonic
        self._depth = 0  # how deep the holder is in _hold (the lock is re-entrant)
        self._held_since: float | None = None
        self._wait = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path), timeout=timeout, check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{path}: cannot open the state store: {describe_error(exc)}") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._configure()
            self._check_integrity()
            self._migrate(migrations)
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"{path}: {describe_error(exc)}") from exc

    @classmethod
    def in_dir(
        cls, state_dir: Path, *, migrations: Sequence[Migration], **kwargs: object
    ) -> Database:
        return cls(state_dir / DB_NAME, migrations=migrations, **kwargs)  # type: ignore[arg-type]

    def _configure(self) -> None:
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a committed transition survives power loss
        self._conn.execute("PRAGMA foreign_keys=ON")

    def _check_integrity(self) -> None:
        row = self._conn.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise StoreError(
                f"{self.path}: integrity check failed: {row[0] if row else '?'}; "
                "the file is left untouched: restore it from a backup or move it "
                "aside to start a new store"
            )

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        current = self._conn.execute("PRAGMA user_version").fetchone()[0]
        known = max((m.version for m in migrations), default=0)
        if current > known:
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this "
                f"program knows ({known}): refusing to touch it"
            )
        for m in sorted(migrations, key=lambda m: m.version):
            if m.version <= current:
                continue
            with self.transaction() as conn:
                _run_script(conn, m.sql)
                conn.execute(f"PRAGMA user_version={int(m.version)}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def busy_seconds(self) -> float:
        """How long the current holder has held the connection (0 when idle)."""
        since = self._held_since
        return 0.0 if since is None else max(0.0, self._monotonic() - since)

    @contextmanager
    def waiting_at_most(self, seconds: float) -> Iterator[None]:
        """In this thread, wait at most ``seconds`` for the connection, then StoreBusy."""
        before = getattr(self._wait, "limit", None)
        self._wait.limit = seconds
        try:
            yield
        finally:
            self._wait.limit = before

    @contextmanager
    def _hold(self) -> Iterator[None]:
        limit = getattr(self._wait, "limit", None)
        if not self._lock.acquire(timeout=-1 if limit is None else limit):
            raise StoreBusy(
                f"{self.path}: the store has been busy for {self.busy_seconds():.0f} s "
                "(a write in progress; a frozen or very slow disk?)"
            )
        try:
            if self._depth == 0:
                self._held_since = self._monotonic()
            self._depth += 1
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._held_since = None
            self._lock.release()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._hold():
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.path}: cannot start a write: {describe_error(exc)}"
                ) from exc
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(f"{self.path}: commit failed: {describe_error(exc)}") from exc

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._hold():
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: read failed: {describe_error(exc)}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _run_script(conn: sqlite3.Connection, sql: str) -> None:
    # executescript() would COMMIT our transaction first; run statement by statement inside it.
    # Statements are split at ';', so a migration cannot hold a trigger body.
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def describe_error(exc: BaseException) -> str:
    """One wording of SQLite failures for every user of the store."""
    text = str(exc)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return f"the store is read-only ({text})"
    if "full" in lowered or "no space" in lowered:
        return f"the disk is full ({text})"
    if "locked" in lowered or "busy" in lowered:
        return f"the store is locked by another process ({text})"
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return f"the store is corrupt ({text})"
    return text

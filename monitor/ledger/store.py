"""Reading and writing the ledger's tables (schema in ``schema.py``).

Writes are one transaction each and append-only; a failure is a :class:`StoreError` that
names the file and the cause, and leaves what was committed before untouched.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import StoreError
from monitor.ledger.maintenance import StoredWindow
from monitor.ledger.sla import Coverage, Steps, Transition, state_steps
from monitor.statestore import open_state_store
from monitor.store.db import Database
from monitor.store.db import describe_error as describe
from monitor.store.opening import diagnose as diagnose  # re-exported for callers

# The state store with every feature's schema (monitor.statestore), under the name the
# integration tests use.
open_database = open_state_store


@dataclass(frozen=True)
class EventRow:
    """A HealthEvent as stored (times already made monotonic by the ledger)."""

    cluster: str
    kind: str  # daemon | service | failover | restart
    subject: str
    service: str
    daemon: str
    host: str
    role: str
    old: str
    new: str
    cause: str
    at_us: int
    confirmed_us: int
    recorded_us: int
    seq: int


@dataclass(frozen=True)
class Heartbeat:
    """A heartbeat segment to insert (``segment_id`` None) or to extend."""

    cluster: str
    segment_id: int | None
    first_us: int
    last_us: int
    rounds: int


@dataclass(frozen=True)
class StoredEvent:
    cluster: str
    kind: str
    subject: str
    service: str
    host: str
    role: str
    old: str
    new: str
    cause: str
    at_us: int
    confirmed_us: int
    run: int


class LedgerStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._texts: dict[str, int] = {}
        self._streams: dict[tuple[str, ...], int] = {}
        self._names_by_id: dict[int, str] = {}

    @property
    def path(self) -> Path:
        return self.db.path

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        try:
            with self.db.transaction() as conn:
                yield conn
        except sqlite3.Error as exc:
            # SQLite rolls a transaction back by itself on a full disk or an I/O error; the
            # ROLLBACK that follows then fails and hides the real cause: report the cause.
            cause = exc.__context__ if isinstance(exc.__context__, sqlite3.Error) else exc
            raise StoreError(f"{self.path}: {what} failed: {describe(cause)}") from cause

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return self.db.query(sql, params)

    # -- runs and rounds -----------------------------------------------------------------
    def begin_run(self, started_us: int, pid: int, host: str, version: str) -> int:
        with self._write("recording the monitor's start") as conn:
            cur = conn.execute(
                "INSERT INTO ledger_runs (started_us, pid, host, version) VALUES (?, ?, ?, ?)",
                (started_us, pid, host, version),
            )
            return int(cur.lastrowid or 0)

    def record(
        self, run_id: int, events: Sequence[EventRow], heartbeats: Sequence[Heartbeat]
    ) -> list[int]:
        """Insert events and write heartbeat segments in one transaction; returns each
        heartbeat's segment id, in order."""
        texts, streams = dict(self._texts), dict(self._streams)
        ids: list[int] = []
        with self._write("recording a probe round") as conn:
            for e in events:
                stream = _intern_stream(conn, streams, e)
                conn.execute(
                    "INSERT INTO ledger_transitions (stream_id, at_us, run_id, seq, old_id, "
                    "new_id, cause_id, confirmed_delta_us, recorded_delta_us) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        stream,
                        e.at_us,
                        run_id,
                        e.seq,
                        _intern_text(conn, texts, e.old),
                        _intern_text(conn, texts, e.new),
                        _intern_text(conn, texts, e.cause),
                        e.confirmed_us - e.at_us,
                        e.recorded_us - e.confirmed_us,
                    ),
                )
            for hb in heartbeats:
                if hb.segment_id is None:
                    cur = conn.execute(
                        "INSERT INTO ledger_heartbeats (run_id, cluster, first_us, last_us, "
                        "rounds) VALUES (?, ?, ?, ?, ?)",
                        (run_id, hb.cluster, hb.first_us, hb.last_us, hb.rounds),
                    )
                    ids.append(int(cur.lastrowid or 0))
                else:
                    conn.execute(
                        "UPDATE ledger_heartbeats SET last_us = MAX(last_us, ?), rounds = ? "
                        "WHERE id = ?",
                        (hb.last_us, hb.rounds, hb.segment_id),
                    )
                    ids.append(hb.segment_id)
        self._texts, self._streams = texts, streams  # only ids that were committed
        return ids

    # -- reading the timeline ------------------------------------------------------------
    def clusters(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT cluster FROM ledger_heartbeats")]

    def first_heartbeat(self, cluster: str) -> int | None:
        row = self._read(
            "SELECT MIN(first_us) FROM ledger_heartbeats WHERE cluster = ?", (cluster,)
        )
        return row[0][0]

    def high_water(self, cluster: str) -> int | None:
        """The latest instant recorded for the cluster (heartbeat or transition)."""
        hb = self._read("SELECT MAX(last_us) FROM ledger_heartbeats WHERE cluster = ?", (cluster,))
        best = hb[0][0]
        for stream in self._stream_ids(cluster):
            row = self._read(
                "SELECT MAX(at_us + confirmed_delta_us) FROM ledger_transitions "
                "WHERE stream_id = ? AND at_us >= ?",
                (stream, best if best is not None else -(1 << 62)),
            )
            if row[0][0] is not None and (best is None or row[0][0] > best):
                best = row[0][0]
        return best

    def coverage(self, cluster: str, lo: int, hi: int) -> list[Coverage]:
        rows = self._read(
            "SELECT run_id, first_us, last_us FROM ledger_heartbeats "
            "WHERE cluster = ? AND first_us < ? AND last_us > ? ORDER BY first_us, id",
            (cluster, hi, lo),
        )
        return [Coverage(r[0], r[1], r[2]) for r in rows]

    def service_transitions(
        self, cluster: str, service: str, lo: int, hi: int, coverage: Sequence[Coverage]
    ) -> list[Transition]:
        """Service transitions in [lo, hi), plus, for each run covering the interval, its
        last one before ``lo`` (the state it carried in)."""
        streams = self._stream_ids(cluster, "service", service)
        out: list[Transition] = []
        run_first: dict[int, int] = {}
        for c in coverage:
            run_first[c.run] = min(run_first.get(c.run, c.first), c.first)
        for stream in streams:
            out += self._transitions(
                "WHERE t.stream_id = ? AND t.at_us >= ? AND t.at_us < ?", (stream, lo, hi)
            )
            for run, first in run_first.items():
                out += self._transitions(
                    "WHERE t.stream_id = ? AND t.at_us < ? AND t.at_us >= ? AND t.run_id = ? "
                    "ORDER BY t.at_us DESC, t.seq DESC LIMIT 1",
                    (stream, lo, min(first, lo), run),
                )
        return out

    def service_steps(self, cluster: str, service: str, lo: int, hi: int) -> Steps:
        """The service's state over [lo, hi) as this ledger recorded it (before maintenance)."""
        coverage = self.coverage(cluster, lo, hi)
        transitions = self.service_transitions(cluster, service, lo, hi, coverage)
        return state_steps(transitions, coverage, lo, hi)

    def _transitions(self, where: str, params: Sequence[object]) -> list[Transition]:
        rows = self._read(
            "SELECT t.at_us, t.run_id, t.seq, t.new_id, t.cause_id FROM ledger_transitions t "
            + where,
            params,
        )
        names = self._names({r[3] for r in rows} | {r[4] for r in rows})
        # plain tuples in Transition's field order: cheaper than the named ones by the 100k
        return [(r[0], r[1], r[2], names[r[3]], names[r[4]]) for r in rows]  # type: ignore[misc]

    def _names(self, ids: set[int]) -> dict[int, str]:
        """Interned texts by id (a small table, read again only for ids not seen yet)."""
        if not ids <= self._names_by_id.keys():
            rows = self._read("SELECT id, text FROM ledger_texts")
            self._names_by_id = {r[0]: r[1] for r in rows}
        return self._names_by_id

    def events(
        self, cluster: str, lo: int, hi: int, kinds: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        """Every recorded event of the cluster in [lo, hi), oldest first."""
        streams = self._read(
            "SELECT id, kind, subject, service, host, role FROM ledger_streams WHERE cluster = ?",
            (cluster,),
        )
        out = []
        for s in streams:
            if kinds is not None and s["kind"] not in kinds:
                continue
            rows = self._read(
                "SELECT t.at_us, t.confirmed_delta_us, t.run_id, o.text, n.text, c.text "
                "FROM ledger_transitions t JOIN ledger_texts o ON o.id = t.old_id "
                "JOIN ledger_texts n ON n.id = t.new_id JOIN ledger_texts c ON c.id = t.cause_id "
                "WHERE t.stream_id = ? AND t.at_us >= ? AND t.at_us < ?",
                (s["id"], lo, hi),
            )
            out += [
                StoredEvent(
                    cluster,
                    s["kind"],
                    s["subject"],
                    s["service"],
                    s["host"],
                    s["role"],
                    r[3],
                    r[4],
                    r[5],
                    r[0],
                    r[0] + r[1],
                    r[2],
                )
                for r in rows
            ]
        return sorted(out, key=lambda e: (e.at_us, e.run))

    def last_service_states(self) -> dict[tuple[str, str], tuple[str, int, int]]:
        """(cluster, service) -> (state, at_us, run) of the last recorded service change."""
        out: dict[tuple[str, str], tuple[str, int, int]] = {}
        for s in self._read(
            "SELECT id, cluster, service FROM ledger_streams WHERE kind = 'service'"
        ):
            rows = self._read(
                "SELECT n.text, t.at_us, t.run_id FROM ledger_transitions t "
                "JOIN ledger_texts n ON n.id = t.new_id WHERE t.stream_id = ? "
                "ORDER BY t.at_us DESC, t.run_id DESC, t.seq DESC LIMIT 1",
                (s["id"],),
            )
            key = (s["cluster"], s["service"])
            if rows and (key not in out or rows[0][1] >= out[key][1]):
                out[key] = (rows[0][0], rows[0][1], rows[0][2])
        return out

    def last_heartbeats(self) -> dict[str, int]:
        rows = self._read("SELECT cluster, MAX(last_us) FROM ledger_heartbeats GROUP BY cluster")
        return {r[0]: r[1] for r in rows}

    def _stream_ids(self, cluster: str, kind: str | None = None, service: str | None = None):
        sql, params = "SELECT id FROM ledger_streams WHERE cluster = ?", [cluster]
        if kind is not None:
            sql, params = sql + " AND kind = ?", [*params, kind]
        if service is not None:
            sql, params = sql + " AND service = ?", [*params, service]
        return [r[0] for r in self._read(sql, params)]

    # -- derived: closed months ------------------------------------------------------
    def month_totals(self, cluster: str, service: str) -> dict[tuple[int, str], int]:
        rows = self._read(
            "SELECT month_us, basis, downtime_us FROM ledger_month_totals "
            "WHERE cluster = ? AND service = ?",
            (cluster, service),
        )
        return {(r[0], r[1]): r[2] for r in rows}

    def save_month_total(
        self, cluster: str, service: str, month_us: int, basis: str, downtime_us: int, now_us: int
    ) -> None:
        with self._write("caching a closed month") as conn:
            conn.execute(
                "INSERT OR IGNORE INTO ledger_month_totals (cluster, service, month_us, basis, "
                "downtime_us, computed_us) VALUES (?, ?, ?, ?, ?, ?)",
                (cluster, service, month_us, basis, downtime_us, now_us),
            )

    # -- maintenance ---------------------------------------------------------------------
    def windows(self, *, include_removed: bool = False) -> list[StoredWindow]:
        rows = self._read(
            "SELECT w.*, r.at_us AS removed_us, r.actor AS removed_by, "
            "r.reason AS removed_reason, r.effective_us AS effective_us "
            "FROM maintenance_windows w LEFT JOIN maintenance_audit r "
            "ON r.id = (SELECT MIN(id) FROM maintenance_audit "
            "           WHERE window_id = w.id AND action = 'remove') ORDER BY w.id"
        )
        out = [_window(r) for r in rows]
        return out if include_removed else [w for w in out if not w.removed]

    def maintenance_version(self) -> int:
        """Grows with every add and remove: a cheap way to notice another process's edit."""
        return int(self._read("SELECT COALESCE(MAX(id), 0) FROM maintenance_audit")[0][0])

    def add_window(self, w: StoredWindow, reason: str = "") -> int:
        with self._write("adding a maintenance window") as conn:
            return _insert_window(conn, w, reason)

    def remove_window(
        self, window_id: int, actor: str, reason: str, at_us: int, effective_us: int | None
    ) -> None:
        with self._write("removing a maintenance window") as conn:
            conn.execute(
                "INSERT INTO maintenance_audit (window_id, action, at_us, actor, reason, "
                "effective_us) VALUES (?, 'remove', ?, ?, ?, ?)",
                (window_id, at_us, actor, reason, effective_us),
            )

    def sync_config(
        self, wanted: Sequence[StoredWindow], actor: str, now_us: int
    ) -> tuple[list[int], list[int]]:
        """Mirror the config's windows: add the new ones, retire (from now on) mirrored ones
        no longer in the config. Returns (added ids, retired ids)."""
        current = {w.config_key: w for w in self.windows() if w.origin == "config"}
        keys = {w.config_key for w in wanted}
        added: list[int] = []
        retired: list[int] = []
        if all(w.config_key in current for w in wanted) and set(current) <= keys:
            return added, retired
        with self._write("mirroring the config's maintenance windows") as conn:
            for w in wanted:
                if w.config_key not in current:
                    added.append(_insert_window(conn, w, "defined in the config file"))
            for key, w in current.items():
                if key not in keys:
                    conn.execute(
                        "INSERT INTO maintenance_audit (window_id, action, at_us, actor, "
                        "reason, effective_us) VALUES (?, 'remove', ?, ?, ?, ?)",
                        (w.id, now_us, actor, "no longer in the config file", now_us),
                    )
                    retired.append(w.id)
        return added, retired


def _intern_text(conn: sqlite3.Connection, cache: dict[str, int], text: str) -> int:
    if text not in cache:
        conn.execute("INSERT OR IGNORE INTO ledger_texts (text) VALUES (?)", (text,))
        cache[text] = conn.execute(
            "SELECT id FROM ledger_texts WHERE text = ?", (text,)
        ).fetchone()[0]
    return cache[text]


def _intern_stream(conn: sqlite3.Connection, cache: dict[tuple[str, ...], int], e: EventRow) -> int:
    key = (e.cluster, e.kind, e.subject, e.service, e.daemon, e.host, e.role)
    if key not in cache:
        conn.execute(
            "INSERT OR IGNORE INTO ledger_streams (cluster, kind, subject, service, daemon, "
            "host, role) VALUES (?, ?, ?, ?, ?, ?, ?)",
            key,
        )
        cache[key] = conn.execute(
            "SELECT id FROM ledger_streams WHERE cluster = ? AND kind = ? AND subject = ? "
            "AND service = ? AND daemon = ? AND host = ? AND role = ?",
            key,
        ).fetchone()[0]
    return cache[key]


def _insert_window(conn: sqlite3.Connection, w: StoredWindow, reason: str) -> int:
    cur = conn.execute(
        "INSERT INTO maintenance_windows (origin, config_key, start_us, end_us, clusters, "
        "services, reason, repeat, until_us, timezone, created_us, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            w.origin,
            w.config_key,
            w.start_us,
            w.end_us,
            json.dumps(list(w.clusters)) if w.clusters is not None else None,
            json.dumps(list(w.services)) if w.services is not None else None,
            w.reason,
            w.repeat,
            w.until_us,
            w.timezone,
            w.created_us,
            w.created_by,
        ),
    )
    window_id = int(cur.lastrowid or 0)
    conn.execute(
        "INSERT INTO maintenance_audit (window_id, action, at_us, actor, reason) "
        "VALUES (?, 'add', ?, ?, ?)",
        (window_id, w.created_us, w.created_by, reason),
    )
    return window_id


def _window(r: sqlite3.Row) -> StoredWindow:
    return StoredWindow(
        id=r["id"],
        origin=r["origin"],
        start_us=r["start_us"],
        end_us=r["end_us"],
        clusters=tuple(json.loads(r["clusters"])) if r["clusters"] is not None else None,
        services=tuple(json.loads(r["services"])) if r["services"] is not None else None,
        reason=r["reason"],
        repeat=r["repeat"],
        until_us=r["until_us"],
        timezone=r["timezone"],
        created_us=r["created_us"],
        created_by=r["created_by"],
        config_key=r["config_key"],
        removed_us=r["removed_us"],
        removed_by=r["removed_by"],
        removed_reason=r["removed_reason"],
        effective_us=r["effective_us"],
    )

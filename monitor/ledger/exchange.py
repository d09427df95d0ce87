"""Replicas exchange their ledgers' records (HA): an export of one state store's ledger
records since a cursor, as JSON lines, and the import of a peer's export into
``state_dir/peers/NAME.sqlite3``, a ledger of the same schema holding only that peer's
records under the peer's own ids. The report merges the state store with every such file
(``ledger.replicas``), so each replica can serve the pair's one truth.

The cursor is an instant (µs) on the exporting replica's clock: a heartbeat segment is
sent again while its ``last_us`` moves past the cursor (segments are extended in place),
a transition once its recorded instant is past it. The export's last line carries the
next cursor; the puller asks again from ``cursor - OVERLAP_US``, because a round that
began before an export read the store may commit after it, and importing is idempotent
(same ids, same primary keys), so a record sent twice is stored once. Runs, maintenance
windows and their audit are small and sent whole every time.

Export format, one JSON object a line: ``{"type": "replica", "name", "format": 1}``,
then ``run``, ``heartbeat``, ``transition``, ``window`` and ``audit`` records (the
tables' columns; a transition with its stream's and texts' values, not local ids), then
``{"type": "end", "cursor", "records"}``. An answer without its end line was cut short
and is refused whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import MonitorError
from monitor.ledger.store import _intern_stream, _intern_text
from monitor.ledger.timebase import MINUTE_US
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database

FORMAT = 1
OVERLAP_US = 10 * MINUTE_US
PATH = "/ledger/export"

_TRANSITIONS = (
    "SELECT s.cluster, s.kind, s.subject, s.service, s.daemon, s.host, s.role, "
    "o.text AS old, n.text AS new, c.text AS cause, t.at_us, t.run_id, t.seq, "
    "t.confirmed_delta_us, t.recorded_delta_us FROM ledger_transitions t "
    "JOIN ledger_streams s ON s.id = t.stream_id JOIN ledger_texts o ON o.id = t.old_id "
    "JOIN ledger_texts n ON n.id = t.new_id JOIN ledger_texts c ON c.id = t.cause_id "
    "WHERE t.at_us + t.confirmed_delta_us + t.recorded_delta_us >= ? "
    "ORDER BY t.at_us, t.run_id, t.seq"
)
_WINDOW_COLUMNS = (
    "id", "origin", "config_key", "start_us", "end_us", "clusters", "services", "reason",
    "repeat", "until_us", "timezone", "created_us", "created_by",
)  # fmt: skip
_AUDIT_COLUMNS = ("id", "window_id", "action", "at_us", "actor", "reason", "effective_us")


def export_lines(conn: sqlite3.Connection, replica: str, since_us: int) -> Iterator[bytes]:
    """The records of the ledger in ``conn`` since ``since_us``, as JSON lines (see the
    module doc). Reads in one transaction, so the lines are one consistent picture."""
    conn.row_factory = sqlite3.Row
    cursor, count = since_us, 0

    def line(record: dict[str, object]) -> bytes:
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"

    conn.execute("BEGIN")
    try:
        yield line({"type": "replica", "name": replica, "format": FORMAT})
        for r in conn.execute("SELECT * FROM ledger_runs ORDER BY id"):
            yield line({"type": "run", **dict(r)})
            count += 1
        for r in conn.execute(
            "SELECT * FROM ledger_heartbeats WHERE last_us >= ? ORDER BY id", (since_us,)
        ):
            yield line({"type": "heartbeat", **dict(r)})
            cursor, count = max(cursor, r["last_us"]), count + 1
        for r in conn.execute(_TRANSITIONS, (since_us,)):
            yield line({"type": "transition", **dict(r)})
            recorded = r["at_us"] + r["confirmed_delta_us"] + r["recorded_delta_us"]
            cursor, count = max(cursor, recorded), count + 1
        for r in conn.execute("SELECT * FROM maintenance_windows ORDER BY id"):
            yield line({"type": "window", **{k: r[k] for k in _WINDOW_COLUMNS}})
            count += 1
        for r in conn.execute("SELECT * FROM maintenance_audit ORDER BY id"):
            yield line({"type": "audit", **{k: r[k] for k in _AUDIT_COLUMNS}})
            count += 1
        yield line({"type": "end", "cursor": cursor, "records": count})
    finally:
        conn.execute("ROLLBACK")


def open_read_only(path: Path) -> sqlite3.Connection:
    """The state store for reading only (the HTTP thread never writes, nor migrates)."""
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise MonitorError(f"{path}: cannot read the state store: {exc}") from None


@dataclass(frozen=True)
class Export:
    replica: str
    cursor: int
    records: list[dict[str, object]]


def parse_export(body: bytes) -> Export:
    """An export's lines; MonitorError when it is not one, or was cut short."""
    lines = body.splitlines()
    try:
        records = [json.loads(x) for x in lines if x.strip()]
    except ValueError as exc:
        raise MonitorError(f"not a ledger export (bad JSON line: {exc})") from None
    if not records or records[0].get("type") != "replica" or records[0].get("format") != FORMAT:
        raise MonitorError("not a ledger export (no replica line of format 1)")
    end = records[-1]
    if end.get("type") != "end" or end.get("records") != len(records) - 2:
        raise MonitorError("the ledger export was cut short (no end line, or records missing)")
    name = records[0].get("name")
    if not isinstance(name, str) or not name:
        raise MonitorError("the ledger export names no replica")
    return Export(name, int(end["cursor"]), records[1:-1])


def import_export(path: Path, export: Export) -> int:
    """Store a peer's export in its own ledger file (made if need be); returns the number
    of records that were new or changed."""
    db = Database(path, migrations=MIGRATIONS)
    try:
        with db.transaction() as conn:
            return sum(_store(conn, r) for r in _ordered(export.records))
    except sqlite3.Error as exc:
        raise MonitorError(f"{path}: storing the peer's records failed: {exc}") from None
    finally:
        db.close()


_ORDER = {"run": 0, "heartbeat": 1, "transition": 2, "window": 3, "audit": 4}


def _ordered(records: list[dict[str, object]]) -> list[dict[str, object]]:
    """Parents before children (foreign keys), whatever the order received."""
    return sorted(records, key=lambda r: _ORDER.get(str(r.get("type")), 9))


def _store(conn: sqlite3.Connection, r: dict[str, object]) -> int:
    kind = r.get("type")
    if kind == "run":
        cur = conn.execute(
            "INSERT OR IGNORE INTO ledger_runs (id, started_us, pid, host, version) "
            "VALUES (:id, :started_us, :pid, :host, :version)",
            r,
        )
    elif kind == "heartbeat":
        cur = conn.execute(
            "INSERT INTO ledger_heartbeats (id, run_id, cluster, first_us, last_us, rounds) "
            "VALUES (:id, :run_id, :cluster, :first_us, :last_us, :rounds) "
            "ON CONFLICT (id) DO UPDATE SET last_us = MAX(last_us, excluded.last_us), "
            "rounds = excluded.rounds WHERE excluded.last_us > last_us",
            r,
        )
    elif kind == "transition":
        stream = _intern_stream(conn, {}, _Stream(r))
        cur = conn.execute(
            "INSERT OR IGNORE INTO ledger_transitions (stream_id, at_us, run_id, seq, old_id, "
            "new_id, cause_id, confirmed_delta_us, recorded_delta_us) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stream, r["at_us"], r["run_id"], r["seq"],
                _intern_text(conn, {}, str(r["old"])), _intern_text(conn, {}, str(r["new"])),
                _intern_text(conn, {}, str(r["cause"])), r["confirmed_delta_us"],
                r["recorded_delta_us"],
            ),
        )  # fmt: skip
    elif kind == "window":
        cols = ", ".join(_WINDOW_COLUMNS)
        cur = conn.execute(
            f"INSERT OR IGNORE INTO maintenance_windows ({cols}) "
            f"VALUES ({', '.join(':' + c for c in _WINDOW_COLUMNS)})",
            r,
        )
    elif kind == "audit":
        cols = ", ".join(_AUDIT_COLUMNS)
        cur = conn.execute(
            f"INSERT OR IGNORE INTO maintenance_audit ({cols}) "
            f"VALUES ({', '.join(':' + c for c in _AUDIT_COLUMNS)})",
            r,
        )
    else:
        return 0  # a newer exporter's record this one does not know: skipped
    return max(cur.rowcount, 0)


class _Stream:
    """A transition record's stream, as ``store._intern_stream`` reads it."""

    def __init__(self, r: dict[str, object]) -> None:
        self.cluster, self.kind, self.subject = r["cluster"], r["kind"], r["subject"]
        self.service, self.daemon, self.host, self.role = (
            r["service"], r["daemon"], r["host"], r["role"],
        )  # fmt: skip

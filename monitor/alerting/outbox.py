"""The durable outbox: every notification is a row, committed (with the alert state that
caused it) before anything is sent, and delivered at least once, in order per group.

A row is ``pending`` until a receiver accepts it (``sent``), or until it is older than the
dead-letter age (``dead``: kept, counted in the metrics, logged). Only the oldest pending
row of a (receiver, group) is ever due, so a firing notice can never be overtaken by its
own resolved notice while it is being retried.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from monitor.alerting.model import Notification
from monitor.store.db import Database

PENDING, SENT, DEAD = "pending", "sent", "dead"


def ts(when: dt.datetime) -> float:
    return when.timestamp()


def at(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    receiver: str
    group_key: str
    status: str
    notification: Notification
    created_at: dt.datetime
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxItem:
        return cls(
            row["id"],
            row["receiver"],
            row["group_key"],
            row["status"],
            Notification.from_json(row["notification"]),
            at(row["created_at"]),  # type: ignore[arg-type]
            row["attempts"],
            at(row["next_attempt_at"]),
            row["last_error"],  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class ReceiverQueue:
    """What the metrics show per receiver."""

    depth: int = 0
    oldest_created_at: dt.datetime | None = None
    dead: int = 0


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing (inside the engine's transaction) ----------------------------------------
    @staticmethod
    def add(conn: sqlite3.Connection, n: Notification, now: dt.datetime) -> int:
        cur = conn.execute(
            "INSERT INTO alert_outbox (receiver, group_key, status, notification, created_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
            (n.receiver, n.group_key, n.status, n.to_json(), ts(now), ts(now)),
        )
        return int(cur.lastrowid or 0)

    def enqueue(self, n: Notification, now: dt.datetime) -> int:
        with self.db.transaction() as conn:
            return self.add(conn, n, now)

    def has_pending(self, receiver: str, group_key: str) -> bool:
        rows = self.db.query(
            "SELECT 1 FROM alert_outbox WHERE state = ? AND receiver = ? AND group_key = ? LIMIT 1",
            (PENDING, receiver, group_key),
        )
        return bool(rows)

    # -- the sender's side ----------------------------------------------------------------
    def due(
        self, now: dt.datetime, limit: int = 200, receiver: str | None = None
    ) -> list[OutboxItem]:
        """Rows due at ``now``, oldest first: every receiver's, or only ``receiver``'s."""
        only = "" if receiver is None else "AND o.receiver = ? "
        rows = self.db.query(
            "SELECT o.* FROM alert_outbox o WHERE o.state = ? AND o.next_attempt_at <= ? "
            + only
            + "AND o.id = (SELECT MIN(p.id) FROM alert_outbox p WHERE p.state = ? AND "
            "p.receiver = o.receiver AND p.group_key = o.group_key) ORDER BY o.id LIMIT ?",
            (PENDING, ts(now), *(() if receiver is None else (receiver,)), PENDING, limit),
        )
        return [OutboxItem.from_row(r) for r in rows]

    def due_receivers(self, now: dt.datetime) -> list[str]:
        """The receivers with a row due at ``now``."""
        rows = self.db.query(
            "SELECT DISTINCT receiver FROM alert_outbox WHERE state = ? AND next_attempt_at <= ?"
            " ORDER BY receiver",
            (PENDING, ts(now)),
        )
        return [r["receiver"] for r in rows]

    def next_due(self, receiver: str | None = None) -> dt.datetime | None:
        if receiver is None:
            rows = self.db.query(
                "SELECT MIN(next_attempt_at) AS t FROM alert_outbox WHERE state = ?", (PENDING,)
            )
        else:
            rows = self.db.query(
                "SELECT MIN(next_attempt_at) AS t FROM alert_outbox WHERE state = ? AND "
                "receiver = ?",
                (PENDING, receiver),
            )
        return at(rows[0]["t"]) if rows else None

    def mark_sent(self, item_id: int, now: dt.datetime, status: int | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE alert_outbox SET state = ?, attempts = attempts + 1, done_at = ?, "
                "last_attempt_at = ?, last_status = ?, last_error = NULL WHERE id = ?",
                (SENT, ts(now), ts(now), status, item_id),
            )

    def mark_failed(
        self, item_id: int, now: dt.datetime, retry_at: dt.datetime, status: int | None, error: str
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, "
                "last_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?",
                (ts(retry_at), ts(now), status, error[:500], item_id),
            )

    def postpone(self, receiver: str, until: dt.datetime) -> None:
        """Hold every due row of ``receiver`` until ``until`` (rate limit, 429); no attempt
        is counted."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE alert_outbox SET next_attempt_at = ? WHERE state = ? AND receiver = ? "
                "AND next_attempt_at < ?",
                (ts(until), PENDING, receiver, ts(until)),
            )

    def expire(self, now: dt.datetime, max_age_seconds: float) -> list[OutboxItem]:
        """Move pending rows older than ``max_age_seconds`` to the dead letters."""
        cutoff = ts(now) - max_age_seconds
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM alert_outbox WHERE state = ? AND created_at < ? ORDER BY id",
                (PENDING, cutoff),
            ).fetchall()
            conn.execute(
                "UPDATE alert_outbox SET state = ?, done_at = ? WHERE state = ? AND created_at < ?",
                (DEAD, ts(now), PENDING, cutoff),
            )
        return [OutboxItem.from_row(r) for r in rows]

    def prune(self, now: dt.datetime, keep_sent_seconds: float) -> int:
        """Forget sent rows (and dead letters) older than ``keep_sent_seconds``."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM alert_outbox WHERE state IN (?, ?) AND done_at < ?",
                (SENT, DEAD, ts(now) - keep_sent_seconds),
            )
            return cur.rowcount

    def queues(self) -> Mapping[str, ReceiverQueue]:
        rows = self.db.query(
            "SELECT receiver, SUM(state = 'pending') AS depth, "
            "MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest, "
            "SUM(state = 'dead') AS dead FROM alert_outbox GROUP BY receiver"
        )
        return {
            r["receiver"]: ReceiverQueue(int(r["depth"] or 0), at(r["oldest"]), int(r["dead"] or 0))
            for r in rows
        }

    def items(self, state: str | None = None) -> list[OutboxItem]:
        """Every row (for tests and inspection), oldest first."""
        if state is None:
            rows = self.db.query("SELECT * FROM alert_outbox ORDER BY id")
        else:
            rows = self.db.query("SELECT * FROM alert_outbox WHERE state = ? ORDER BY id", (state,))
        return [OutboxItem.from_row(r) for r in rows]

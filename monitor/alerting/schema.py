"""The alerting tables (store migration version 2): alert state, group state, the outbox.

State is kept as a JSON document per row beside the columns queries need, so the engine's
records can grow a field without a migration. (No ';' inside the SQL below: the migration
runner splits statements on it.)
"""

from __future__ import annotations

from monitor.store.db import Migration

SQL = """
CREATE TABLE alert_state (
    fingerprint TEXT PRIMARY KEY,
    cluster     TEXT NOT NULL,
    alertname   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    state       TEXT NOT NULL,
    record      TEXT NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX alert_state_cluster ON alert_state (cluster);

CREATE TABLE alert_group_state (
    receiver   TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    record     TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (receiver, group_key)
);

CREATE TABLE alert_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver        TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    status          TEXT NOT NULL,
    notification    TEXT NOT NULL,
    created_at      REAL NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_attempt_at REAL,
    last_status     INTEGER,
    last_error      TEXT,
    done_at         REAL
);
CREATE INDEX alert_outbox_queue ON alert_outbox (state, receiver, group_key, id);
"""

MIGRATION = Migration(2, "alerting: alert state, group state, durable outbox", SQL)

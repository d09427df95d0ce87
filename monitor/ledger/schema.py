"""Schema version 1 of the state store: the SLA ledger.

Append-only by design: rows are inserted, never deleted; the only in-place update is a
heartbeat segment's ``last_us`` moving forward. Times are integer microseconds since the
Unix epoch, UTC, so durations add up exactly.

Transitions are the bulk of the store (it grows with state changes, not with probes), so
they are kept small: one ``WITHOUT ROWID`` table clustered on (stream, time), with the
repeated text (cluster, subject, states, causes) interned in two small tables. The view
``ledger_transitions_v`` shows them readably for anyone with the ``sqlite3`` shell.

``ledger_month_totals`` is derived, a cache: the SLA-counted downtime of a closed month
for one basis (settings, time zone and that month's maintenance windows), so the downtime
counter since the store began does not re-read a year of history at every start. Any
change of basis simply misses the cache; deleting its rows is always safe.

The statements contain no ``;`` inside them: the store runs a migration statement by
statement (which rules out triggers).
"""

from __future__ import annotations

from monitor.store.db import Migration

SQL = """
CREATE TABLE ledger_runs (
    id INTEGER PRIMARY KEY,
    started_us INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    version TEXT NOT NULL
);

CREATE TABLE ledger_heartbeats (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES ledger_runs(id),
    cluster TEXT NOT NULL,
    first_us INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    rounds INTEGER NOT NULL DEFAULT 1,
    CHECK (last_us >= first_us)
);
CREATE INDEX ledger_heartbeats_by_time ON ledger_heartbeats (cluster, first_us);

CREATE TABLE ledger_texts (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);

CREATE TABLE ledger_streams (
    id INTEGER PRIMARY KEY,
    cluster TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    service TEXT NOT NULL,
    daemon TEXT NOT NULL,
    host TEXT NOT NULL,
    role TEXT NOT NULL,
    UNIQUE (cluster, kind, subject, service, daemon, host, role)
);

CREATE TABLE ledger_transitions (
    stream_id INTEGER NOT NULL REFERENCES ledger_streams(id),
    at_us INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES ledger_runs(id),
    seq INTEGER NOT NULL,
    old_id INTEGER NOT NULL REFERENCES ledger_texts(id),
    new_id INTEGER NOT NULL REFERENCES ledger_texts(id),
    cause_id INTEGER NOT NULL REFERENCES ledger_texts(id),
    confirmed_delta_us INTEGER NOT NULL,
    recorded_delta_us INTEGER NOT NULL,
    PRIMARY KEY (stream_id, at_us, run_id, seq)
) WITHOUT ROWID;

CREATE VIEW ledger_transitions_v AS
SELECT s.cluster, s.kind, s.subject, s.service, s.daemon, s.host, s.role,
       o.text AS old, n.text AS new, c.text AS cause,
       strftime('%Y-%m-%dT%H:%M:%fZ', t.at_us / 1e6, 'unixepoch') AS at,
       strftime('%Y-%m-%dT%H:%M:%fZ', (t.at_us + t.confirmed_delta_us) / 1e6, 'unixepoch')
           AS confirmed_at,
       t.run_id, t.seq, t.at_us
FROM ledger_transitions t
JOIN ledger_streams s ON s.id = t.stream_id
JOIN ledger_texts o ON o.id = t.old_id
JOIN ledger_texts n ON n.id = t.new_id
JOIN ledger_texts c ON c.id = t.cause_id;

CREATE TABLE maintenance_windows (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL CHECK (origin IN ('config', 'cli')),
    config_key TEXT,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    clusters TEXT,
    services TEXT,
    reason TEXT NOT NULL DEFAULT '',
    repeat TEXT NOT NULL DEFAULT 'none' CHECK (repeat IN ('none', 'daily', 'weekly')),
    until_us INTEGER,
    timezone TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    CHECK (end_us > start_us)
);
CREATE INDEX maintenance_windows_by_key ON maintenance_windows (config_key);

CREATE TABLE maintenance_audit (
    id INTEGER PRIMARY KEY,
    window_id INTEGER NOT NULL REFERENCES maintenance_windows(id),
    action TEXT NOT NULL CHECK (action IN ('add', 'remove')),
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    effective_us INTEGER
);
CREATE INDEX maintenance_audit_by_window ON maintenance_audit (window_id);

CREATE TABLE ledger_month_totals (
    cluster TEXT NOT NULL,
    service TEXT NOT NULL,
    month_us INTEGER NOT NULL,
    basis TEXT NOT NULL,
    downtime_us INTEGER NOT NULL,
    computed_us INTEGER NOT NULL,
    PRIMARY KEY (cluster, service, month_us, basis)
) WITHOUT ROWID
"""

LEDGER_MIGRATION = Migration(1, "sla ledger: runs, heartbeats, transitions, maintenance", SQL)

"""The durable state store (SQLite, the embedded default): one database file in
``state_dir``, shared by the SLA ledger and the alert outbox."""

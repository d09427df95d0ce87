"""The state store as the daemon and every command open it: one SQLite file in
``state_dir`` shared by the features below, each owning its tables' schema.

This list is the only place the features' schema versions are put in order; the store
itself (:mod:`monitor.store`) knows none of them and takes this list from its caller.

Version 1: the SLA ledger (transitions, heartbeats, maintenance windows).
Version 2: alerting (alert state and the durable outbox).
"""

from __future__ import annotations

from pathlib import Path

from monitor.alerting.schema import MIGRATION as ALERTING_MIGRATION
from monitor.ledger.schema import LEDGER_MIGRATION
from monitor.store.db import Database, Migration
from monitor.store.opening import open_store

MIGRATIONS: tuple[Migration, ...] = (LEDGER_MIGRATION, ALERTING_MIGRATION)


def open_state_store(state_dir: Path, *, create: bool = True, **kwargs: object) -> Database:
    """The state store in ``state_dir``, migrated to the current schema. ``create=False``
    (a report, a listing) refuses to make an empty store where nothing was recorded."""
    return open_store(state_dir, migrations=MIGRATIONS, create=create, **kwargs)

"""Every schema version of the store, in order. Each migration's SQL lives with the module
that owns those tables; this list is the only place they are put in order.

Version 1: the SLA ledger (transitions, heartbeats, maintenance windows).
Version 2: alerting (alert state and the durable outbox).
"""

from __future__ import annotations

from monitor.alerting.schema import MIGRATION as ALERTING_MIGRATION
from monitor.ledger.schema import LEDGER_MIGRATION
from monitor.store.db import Migration

MIGRATIONS: tuple[Migration, ...] = (LEDGER_MIGRATION, ALERTING_MIGRATION)

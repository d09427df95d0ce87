"""The known month (tests/support/report_month.py) as the ledger holds it: its figures
against the numbers worked out by hand."""

from __future__ import annotations

import pytest

from monitor.config import load_config
from monitor.ledger.query import month_periods
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import US
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from tests.support.report_month import (  # noqa: F401 - fixtures
    EXPECTED,
    MONTH,
    MONTH_SECONDS,
    in_october,
    october,
)

pytestmark = pytest.mark.usefixtures("in_october")


def test_the_ledger_holds_the_scripted_month():
    cfg = load_config("config.toml")
    store = LedgerStore(Database.in_dir(cfg.monitor.state_dir, migrations=MIGRATIONS))
    periods = {p.service: p for p in month_periods(store, cfg, *MONTH)}
    for service, (down, maintenance, unknown) in EXPECTED.items():
        b = periods[service].breakdown
        assert b.interval_us == MONTH_SECONDS * US
        assert (b.downtime_us, b.maintenance_us, b.unknown_us) == (
            down * US, maintenance * US, unknown * US,
        ), service  # fmt: skip
    assert [f.cause for f in periods["slurmctld"].failovers] == ["failover", "failback"]

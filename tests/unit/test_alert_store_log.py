"""A store that refuses writes is logged by the alert engine once per cause and once when
it recovers, not on every round (a full disk at a 10 s interval was 8640 lines a day)."""

from __future__ import annotations

import contextlib

from structlog.testing import capture_logs

from monitor.errors import StoreError
from tests.support.alerting import DOWN, T0, engine, status


def test_a_failing_store_is_logged_once_per_cause_and_its_recovery_once(tmp_path):
    eng = engine(tmp_path)
    working = eng.db.transaction
    failure = ["/x/slurm-sla-monitor.sqlite3: commit failed: the disk is full"]

    @contextlib.contextmanager
    def refused():
        raise StoreError(failure[0])
        yield  # pragma: no cover

    eng.db.transaction = refused
    with capture_logs() as logs:
        for _ in range(5):
            assert eng.on_round(status(ctl1=DOWN, ctl2=DOWN), (), T0) == []
        failure[0] = "/x/slurm-sla-monitor.sqlite3: cannot start a write: read-only"
        for _ in range(3):
            eng.on_round(status(ctl1=DOWN, ctl2=DOWN), (), T0)
        eng.db.transaction = working
        assert eng.on_round(status(ctl1=DOWN, ctl2=DOWN), (), T0)  # the page, at last
        eng.on_round(status(ctl1=DOWN, ctl2=DOWN), (), T0)
    events = [e["event"] for e in logs if e["event"].startswith("alert.store")]
    assert events == ["alert.store_failed", "alert.store_failed", "alert.store_recovered"]
    errors = [e["error"] for e in logs if e["event"] == "alert.store_failed"]
    assert "disk is full" in errors[0] and "read-only" in errors[1]

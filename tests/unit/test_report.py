"""The monthly report over the known month of ``support/report_month``: the numbers worked
out by hand, the golden md, json and csv (``REGEN_GOLDEN=1`` rewrites them: review the
diff), byte-identical output, the JSON schema, and a month not over yet."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from freezegun import freeze_time

from monitor.cli import main
from monitor.config import load_config
from monitor.health import ClusterHealth
from monitor.ledger.ledger import Ledger
from monitor.ledger.query import month_periods
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import US, iso, to_us
from monitor.report import render_json
from monitor.report.assemble import build_report, config_digest
from monitor.report.render import render
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from tests.support.golden import assert_golden
from tests.support.report_month import (  # noqa: F401 - fixtures
    CONFIG,
    EXPECTED,
    MONTH,
    MONTH_SECONDS,
    NOW,
    at,
    in_october,
    inside,
    observe,
    october,
)

GOLDEN = Path(__file__).resolve().parent / "golden" / "report"
# Every test runs in the directory holding the known month's config.toml and state/.
pytestmark = pytest.mark.usefixtures("in_october")


def report_of(month=MONTH, now=NOW, **kw):
    cfg = load_config("config.toml")
    store = LedgerStore(Database.in_dir(cfg.monitor.state_dir, migrations=MIGRATIONS))
    try:
        return build_report(
            store, cfg, *month, config_sha256=config_digest(CONFIG.encode()), now=now, **kw
        )
    finally:
        store.db.close()


def test_the_month_figures():
    r = report_of()
    assert (r.label, r.partial, r.timezone) == ("2026-10", False, "Europe/Berlin")
    assert (iso(r.month_start), iso(r.end)) == ("2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z")
    (prod,) = r.clusters
    ctl, dbd = prod.services
    for s, objective in ((ctl, 0.999), (dbd, 0.995)):
        down, maintenance, unknown = EXPECTED[s.service]
        b, budget = s.period.breakdown, s.period.budget
        assert (b.downtime_us, b.maintenance_us, b.unknown_us) == (
            down * US, maintenance * US, unknown * US,
        )  # fmt: skip
        eligible = MONTH_SECONDS - maintenance - unknown
        assert b.eligible_us == eligible * US
        assert b.availability == pytest.approx((eligible - down) / eligible, abs=1e-15)
        assert budget.allowed_seconds == pytest.approx((1 - objective) * eligible)
        assert budget.remaining_seconds == pytest.approx((1 - objective) * eligible - down)
    assert not ctl.period.met and dbd.period.met
    assert (ctl.status, dbd.status, prod.status) == ("breached", "met", "breached")
    assert ctl.period.budget.remaining_seconds == pytest.approx(-1374.3)


def test_incidents_failovers_maintenance_and_blind_time():
    (prod,) = report_of().clusters
    ctl, dbd = prod.services
    assert [(iso(i.start), i.duration_us // US, i.downtime_us // US, i.cause, i.ongoing)
            for i in ctl.period.incidents] == [
        ("2026-10-03T10:00:00Z", 750, 750, "no_controller", False),
        ("2026-10-21T06:10:00Z", 600, 0, "no_controller", False),  # inside a window
        ("2026-10-28T09:00:00Z", 3000, 3000, "split_brain_protection", False),
        ("2026-10-31T22:55:00Z", 300, 300, "no_controller", True),  # past the month's end
    ]  # fmt: skip
    assert [(i.cause, i.downtime_us // US, i.maintenance_us // US)
            for i in dbd.period.incidents] == [
        ("database_unreachable", 1200, 6600),  # the overrun of the MariaDB upgrade counts
        ("dbd_unreachable", 3600, 0),
    ]  # fmt: skip
    assert [(iso(f.at), f.old, f.new) for f in ctl.period.failovers] == [
        ("2026-10-07T08:00:00Z", "ctl1(primary)", "ctl2(backup)"),
        ("2026-10-07T08:40:00Z", "ctl2(backup)", "ctl1(primary)"),
    ]
    assert [(m.reason, m.services, m.origin, m.created_by) for m in prod.maintenance()] == [
        ("MariaDB upgrade", ("slurmdbd",), "config", "config:config.toml"),
        ("kernel update on ctl1 and ctl2", ("slurmctld",), "cli", "alice@admin1"),
    ]
    assert [(iso(u.start), u.duration_us // US, u.kind, u.cause, services)
            for u, services in prod.unknown_periods()] == [
        ("2026-10-10T14:00:00Z", 300, "blind", "blind", ("slurmctld", "slurmdbd")),
        ("2026-10-20T11:50:00Z", 2400, "absent", "monitor not running",
         ("slurmctld", "slurmdbd")),
    ]  # fmt: skip


def test_charts_data_add_up_to_the_figures():
    r = report_of()
    for s in r.services:
        b = s.period.breakdown
        assert s.bands[0].start == r.month_start and s.bands[-1].end == r.end
        assert all(
            x.end == y.start and x.kind != y.kind
            for x, y in zip(s.bands, s.bands[1:], strict=False)
        )
        total = {k: sum(x.end - x.start for x in s.bands if x.kind == k) for k in
                 ("up", "degraded", "down", "maintenance", "unknown")}  # fmt: skip
        assert (total["up"], total["down"], total["maintenance"], total["unknown"]) == (
            b.up_us, b.down_us, b.maintenance_us, b.unknown_us,
        )  # fmt: skip
        assert s.burn[0] == (r.month_start, 0) and s.burn[-1] == (r.end, b.downtime_us)
        assert sum(u.duration_us for u in s.unknown_periods) == b.unknown_us


def test_the_report_agrees_with_the_ledger():
    cfg = load_config("config.toml")
    store = LedgerStore(Database.in_dir(cfg.monitor.state_dir, migrations=MIGRATIONS))
    ledger = [p.to_dict() for p in month_periods(store, cfg, *MONTH)]
    assert [s.period.to_dict() for s in report_of().services] == ledger


@pytest.mark.parametrize("fmt", ["md", "json", "csv"])
def test_golden(capsysbinary, fmt):
    with freeze_time(NOW):
        code = main(["report", "--config", "config.toml", "--month", "2026-10", "--format", fmt])
    out, err = capsysbinary.readouterr()
    assert (code, err) == (0, b"")
    assert_golden(GOLDEN / f"2026-10.{fmt}", out.decode())


@pytest.mark.parametrize("fmt", ["md", "html", "json", "csv"])
def test_same_ledger_same_bytes(fmt):
    first = render(report_of(), fmt)
    assert render(report_of(), fmt) == first
    later = dt_plus(NOW, days=40)  # a later run: the month is long closed, nothing changes
    assert render(report_of(now=later), fmt) == first


def dt_plus(when, **kw):
    return when + dt.timedelta(**kw)


def test_json_names_its_inputs_and_follows_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    doc = json.loads(render(report_of(), "json"))
    jsonschema.Draft202012Validator.check_schema(render_json.SCHEMA)
    jsonschema.validate(doc, render_json.SCHEMA)
    assert doc["inputs"]["ledger"] == {"first": "2026-09-30T20:00:00Z",
                                       "last": "2026-10-31T23:00:00Z"}  # fmt: skip
    assert doc["inputs"]["config_sha256"] == config_digest(CONFIG.encode())
    assert doc["inputs"]["version"]
    ctl = doc["clusters"][0]["services"][0]
    for key in ("objective_percent", "availability_percent", "downtime_seconds",
                "maintenance_seconds", "unknown_seconds", "error_budget_seconds",
                "error_budget_remaining_seconds", "met", "incidents"):  # fmt: skip
        assert key in ctl  # the contract's fields
    assert ctl["incidents"][0] == {
        "start": "2026-10-03T10:00:00Z", "end": "2026-10-03T10:12:30Z",
        "duration_seconds": 750.0, "service": "slurmctld", "cause": "both controllers down",
        "cause_code": "no_controller", "downtime_seconds": 750.0, "maintenance_seconds": 0.0,
        "unknown_seconds": 0.0, "ongoing": False,
    }  # fmt: skip


def test_the_current_month_is_partial_up_to_the_ledgers_last_record():
    r = report_of(month=(2026, 11))
    assert r.partial and r.end == to_us(at(1, 23, 55, month=11))  # the last heartbeat
    (ctl, _) = r.services
    (incident,) = ctl.period.incidents  # began in October, shown from its real start
    assert (iso(incident.start), incident.downtime_us) == ("2026-10-31T22:55:00Z", 300 * US)
    # the budget is the whole month's (720 hours), as the metrics have it, not a day's
    assert ctl.period.budget.allowed_seconds == pytest.approx(0.001 * 720 * 3600)
    assert ctl.period.budget.remaining_seconds == pytest.approx(0.001 * 720 * 3600 - 300)
    md = render(r, "md").decode()
    assert "**Partial: the month is not over.**" in md
    assert json.loads(render(r, "json"))["partial"] is True
    assert render(report_of(month=(2026, 11)), "md").decode() == md  # still deterministic


def test_a_month_before_the_ledger_began_has_no_data():
    r = report_of(month=(2026, 8))
    for s in r.services:
        b = s.period.breakdown
        assert b.eligible_us == 0 and s.period.incidents == () and s.period.met is None
        assert b.unknown_us == b.interval_us and s.status == "no_data"
    md = render(r, "md").decode()
    assert "| slurmctld | 99.9 % | n/a |" in md and "not enough data" in md
    assert "met" not in md.split("## Cluster prod")[1].split("\n")[0]


def test_pdf_when_weasyprint_is_installed():
    pytest.importorskip("weasyprint")
    first = render(report_of(), "pdf")
    assert first.startswith(b"%PDF-") and len(first) > 10_000
    assert render(report_of(), "pdf") == first  # no creation date: the same bytes


def test_a_partial_month_says_what_the_metrics_say():
    cfg = load_config("config.toml")
    with freeze_time(NOW):
        ledger = Ledger.open(cfg, clock=lambda: NOW)
        figures = {f.service: f for f in ledger.figures(NOW)}
        ledger.close()
    for s in report_of(month=(2026, 11)).services:
        f, budget = figures[s.service], s.period.budget
        assert s.period.breakdown.availability == pytest.approx(f.availability_ratio)
        assert budget.remaining_ratio == pytest.approx(f.error_budget_remaining_ratio)


def test_what_is_recorded_later_does_not_change_a_closed_month(tmp_path):
    """Re-running last month's report later gives the bytes that were archived."""
    archived = render(report_of(), "md")
    running = render(report_of(month=(2026, 11)), "md")
    shutil.copytree(Path.cwd(), tmp_path / "later")  # the known month's directory
    with inside(tmp_path / "later"):
        cfg = load_config("config.toml")
        later = NOW + dt.timedelta(days=3)
        with freeze_time(later):
            ledger = Ledger.open(cfg, clock=lambda: later)
            health = ClusterHealth("prod", cfg.monitor, later)
            for k in range(3):
                t = later + dt.timedelta(minutes=10 * k)
                ledger.on_round(health.status(), health.update(observe("up", "up", t)), t)
            ledger.close()
        assert render(report_of(), "md") == archived
        assert render(report_of(month=(2026, 11)), "md") != running  # this one goes on

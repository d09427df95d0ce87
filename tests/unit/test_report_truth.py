"""The report tells the truth (issue 18): a month without data is "not enough data" in
every format and never met; a month in progress is at risk or on track, and breached only
once its whole budget is spent; failovers and failbacks are counted apart; the observed
period is shown when the ledger begins late; a retroactive window says so."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from monitor.ledger.maintenance import StoredWindow
from monitor.ledger.query import ServicePeriod
from monitor.ledger.sla import Breakdown, error_budget
from monitor.ledger.timebase import HOUR_US, US, to_us
from monitor.report import render_json
from monitor.report.assemble import maintenance_entries
from monitor.report.render import render
from monitor.report.status import Status, met_field, service_status
from tests.support.report_month import CONFIG, NOW, at, in_october, october, report_of  # noqa: F401

pytestmark = pytest.mark.usefixtures("in_october")


def period(up_s: int, down_s: int, unknown_s: int = 0, objective: float = 0.999,
           budget_eligible_s: int | None = None) -> ServicePeriod:  # fmt: skip
    total = up_s + down_s + unknown_s
    b = Breakdown(0, total * US, up_s * US, 0, down_s * US, 0, unknown_s * US, down_s * US,
                  (up_s + down_s) * US)  # fmt: skip
    eligible = (budget_eligible_s if budget_eligible_s is not None else up_s + down_s) * US
    return ServicePeriod("c", "slurmctld", objective, b, error_budget(objective, eligible,
                         b.downtime_us), (), ())  # fmt: skip


# --- the rules, pure ---------------------------------------------------------------------


def test_nothing_observed_is_no_data_never_met():
    p = period(0, 0, unknown_s=3600)
    assert service_status(p, partial=False, elapsed=1.0) is Status.NO_DATA
    assert p.met is None and met_field(Status.NO_DATA) is None


def test_a_closed_month_is_met_or_breached_by_its_availability():
    assert service_status(period(99_900, 100), partial=False, elapsed=1) is Status.MET
    assert service_status(period(99_899, 101), partial=False, elapsed=1) is Status.BREACHED


def test_a_month_in_progress_is_breached_only_once_its_budget_is_spent():
    month = 30 * 24 * 3600  # budget 2592 s
    # 1 h observed, 10 min down: 83 % available so far, but 77 % of the budget left
    early = period(3000, 600, budget_eligible_s=month)
    assert service_status(early, partial=True, elapsed=3600 / month) is Status.AT_RISK
    # the same downtime spread over half the month: spending slower than an even burn
    half = period(month // 2 - 600, 600, budget_eligible_s=month)
    assert service_status(half, partial=True, elapsed=0.5) is Status.MET
    spent = period(3000, 2600, budget_eligible_s=month)
    assert service_status(spent, partial=True, elapsed=0.01) is Status.BREACHED


# --- through the known month -------------------------------------------------------------


@pytest.mark.parametrize("unknown_counts_as", ["excluded", "up", "down"])
def test_a_month_without_data_is_not_enough_data_in_every_format(tmp_path, unknown_counts_as):
    from pathlib import Path

    setting = f'\nunknown_counts_as = "{unknown_counts_as}"'
    text = CONFIG.replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"' + setting)
    Path("variant.toml").write_text(text)
    r = report_of(month=(2026, 8), config="variant.toml")
    assert {s.status for s in r.services} == {Status.NO_DATA}
    assert r.clusters[0].status is Status.NO_DATA
    md = render(r, "md").decode()
    assert "## Cluster prod: not enough data" in md and "all objectives met" not in md
    assert "The monitor recorded nothing for this cluster in the period" in md
    html = render(r, "html").decode()
    assert 'data-status="no_data"' in html and "objectives met" not in html
    assert 'class="pill met"' not in html
    doc = json.loads(render(r, "json"))
    assert doc["clusters"][0]["status"] == "no_data" and doc["clusters"][0]["met"] is None
    assert {(s["status"], s["met"]) for s in doc["clusters"][0]["services"]} == {("no_data", None)}
    assert '"met": true' not in render(r, "json").decode()
    rows = list(csv.DictReader(io.StringIO(render(r, "csv").decode())))
    assert [(x["record"], x["service"], x["status"]) for x in rows] == [
        ("service", "slurmctld", "no_data"),
        ("service", "slurmdbd", "no_data"),
    ]


def test_the_month_in_progress_is_at_risk_not_breached():
    """November: 300 s down in its first hour, the ledger 24h 55m in: well within the
    month's 43 min budget, but spent faster than an even burn."""
    r = report_of(month=(2026, 11))
    ctl, dbd = r.services
    assert ctl.period.breakdown.availability < 0.999  # month to date below the target
    assert (ctl.status, dbd.status) == (Status.AT_RISK, Status.MET)
    elapsed_minutes = 24 * 60 + 55
    assert ctl.projected_downtime_us == pytest.approx(300 * US * 720 * 60 / elapsed_minutes)
    md = render(r, "md").decode()
    assert "## Cluster prod: objective AT RISK (month to date" in md
    assert "BREACHED" not in md and "| availability to date |" in md
    assert "slurmctld: month end at this rate 99.665 % (downtime 2h 24m 29s); with no " in md
    doc = json.loads(render(r, "json"))
    s = doc["clusters"][0]["services"][0]
    assert (s["status"], s["met"]) == ("at_risk", True)
    assert s["projected_availability_percent"] < s["best_availability_percent"] < 100
    assert s["best_availability_percent"] == pytest.approx(100 * (1 - 300 / (720 * 3600)))
    html = render(r, "html").decode()
    assert 'data-status="at_risk"' in html and "BREACHED" not in html


def test_a_month_in_progress_whose_budget_is_spent_is_breached(tmp_path):
    from pathlib import Path

    Path("strict.toml").write_text(CONFIG.replace("slurmctld = 99.9", "slurmctld = 99.999"))
    r = report_of(month=(2026, 11), config="strict.toml")  # budget 25.9 s, 300 s down
    assert r.services[0].status is Status.BREACHED
    assert "objective BREACHED" in render(r, "md").decode()


def test_failovers_and_failbacks_are_counted_apart():
    r = report_of()
    doc = json.loads(render(r, "json"))
    assert (doc["clusters"][0]["failover_count"], doc["clusters"][0]["failback_count"]) == (1, 1)
    html = render(r, "html").decode()
    assert "<span>failovers</span><b>1</b>" in html and "<span>failbacks</span><b>1</b>" in html
    assert "Failovers: 1; failbacks: 1" in render(r, "md").decode()


def test_the_observed_period_is_drawn_when_the_ledger_begins_late():
    r = report_of()
    late = to_us(at(28, 0))
    (prod,) = r.clusters
    r = dataclasses.replace(r, clusters=(dataclasses.replace(prod, ledger_first=late),))
    html = render(r, "html").decode()
    assert html.count('class="observed-view"') == 2  # one per service
    assert "Observed from 2026-10-28 00:00:00 UTC" in html
    assert "Observed from 2026-10-28 00:00:00 UTC" in render(r, "md").decode()
    assert 'class="observed-view"' not in render(report_of(), "html").decode()


def test_a_retroactive_window_is_shown_as_such():
    start = to_us(at(5, 10))
    window = StoredWindow(
        id=7, origin="cli", start_us=start, end_us=start + HOUR_US, clusters=None,
        services=None, reason="after the fact", repeat="none", until_us=None,
        timezone="UTC", created_us=start + 2 * HOUR_US, created_by="bob@admin",
    )  # fmt: skip
    (entry,) = maintenance_entries(
        [window], "prod", "slurmctld", start - HOUR_US, start + 9 * HOUR_US
    )
    assert entry.retroactive and entry.created_at == start + 2 * HOUR_US
    r = report_of()
    (prod,) = r.clusters
    ctl = dataclasses.replace(prod.services[0], maintenance=(entry,))
    r = dataclasses.replace(
        r, clusters=(dataclasses.replace(prod, services=(ctl, prod.services[1])),)
    )
    assert "RETROACTIVE: added 2026-10-05 14:00:00 CEST, after it began" in render(r, "md").decode()
    doc = json.loads(render(r, "json"))
    assert doc["clusters"][0]["services"][0]["maintenance_windows"][0]["retroactive"] is True
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, render_json.SCHEMA)


def test_every_month_validates_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    for month in ((2026, 8), (2026, 10), (2026, 11)):
        jsonschema.validate(json.loads(render(report_of(month=month), "json")), render_json.SCHEMA)


def test_the_archive_mail_of_a_month_without_data_says_so():
    import datetime as dt

    from monitor.report.mail import notification

    r = report_of(month=(2026, 8))
    (alert,) = notification(r, "mail", [], dt.datetime(2026, 11, 2, tzinfo=dt.UTC)).alerts
    summary = alert.annotations["summary"]
    assert summary == "SLA report 2026-08: not enough data for 2 of 2 objectives"
    assert "not enough data" in alert.annotations["description"]
    assert "met" not in summary

"""The status page on the known month of ``support/report_month`` (October 2026 in
Europe/Berlin, the monitor running from 2026-09-30T20:00Z to 2026-11-02T00:00Z): its model
against the hand-worked figures, its month to date against the report's JSON, the public
mode, customers, and the rendered HTML and JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import pytest
from freezegun import freeze_time

from monitor.config import load_config, parse_config
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import US, iso, to_us
from monitor.report.assemble import build_report
from monitor.statestore import MIGRATIONS
from monitor.status.customers import UnknownCustomer, clusters_of, customers
from monitor.status.model import DAYS, Live, build_status
from monitor.status.render_html import render_html
from monitor.status.render_json import MONTH_KEYS, page_dict
from monitor.store.db import Database
from tests.support.report_month import NOW, in_october, october  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("in_october")
UTC = dt.UTC


def _page(**kwargs):
    cfg = load_config("config.toml")
    store = LedgerStore(Database.in_dir(cfg.monitor.state_dir, migrations=MIGRATIONS))
    try:
        return cfg, build_status(store, cfg, to_us(NOW), **kwargs)
    finally:
        store.db.close()


def _days(doc, service):
    svc = next(s for s in doc["clusters"][0]["services"] if s["service"] == service)
    return svc, {d["date"]: d for d in svc["days"]}


def test_ninety_days_coloured_by_counted_downtime():
    _, page = _page()
    doc = page_dict(page)
    ctl, days = _days(doc, "slurmctld")
    assert len(ctl["days"]) == DAYS
    assert ctl["days"][-1]["date"] == "2026-11-02"  # today in Berlin (01:00 local)
    # Before the ledger's first record: no data, never up.
    assert days["2026-08-05"]["kind"] == "nodata" and days["2026-09-29"]["kind"] == "nodata"
    assert days["2026-09-30"]["kind"] == "unknown"  # watched from 22:00 local only
    assert days["2026-10-03"]["downtime_seconds"] == 750
    assert days["2026-10-03"]["kind"] == "outage"  # 750 s > 0.1 % of a day (86.4 s)
    assert days["2026-10-07"]["kind"] == "up"  # a failover is not downtime
    assert days["2026-10-21"]["kind"] == "maintenance"  # down inside the CLI window only
    assert days["2026-10-21"]["maintenance_seconds"] == 3600
    assert days["2026-10-28"]["downtime_seconds"] == 3000
    # The outage across the month's end: 5 min on Oct 31 and 5 min on Nov 1 (Berlin).
    assert days["2026-10-31"]["downtime_seconds"] == 300
    assert days["2026-11-01"]["downtime_seconds"] == 300
    dbd, ddays = _days(doc, "slurmdbd")
    assert ddays["2026-10-14"]["kind"] == "outage"
    assert ddays["2026-10-14"]["downtime_seconds"] == 1200
    assert ddays["2026-10-25"]["downtime_seconds"] == 3600
    # The days' counted downtime adds up to October's (the report's figure).
    in_month = [d for date, d in days.items() if date.startswith("2026-10")]
    assert sum(d["downtime_seconds"] for d in in_month) == 750 + 3000 + 300


def test_a_day_is_never_green_when_it_was_not_watched():
    _, page = _page()
    for svc in page_dict(page)["clusters"][0]["services"]:
        for d in svc["days"]:
            if d["kind"] == "up":
                assert d["downtime_seconds"] == 0 and d["maintenance_seconds"] == 0
                assert d["unknown_seconds"] <= d["eligible_seconds"]


def test_month_to_date_matches_the_report_json():
    cfg, page = _page()
    store = LedgerStore(Database.in_dir(cfg.monitor.state_dir, migrations=MIGRATIONS))
    try:
        with freeze_time(NOW):
            report = build_report(store, cfg, 2026, 11, config_sha256="x", now=NOW)
    finally:
        store.db.close()
    # The report's JSON is its sections' ``period.to_dict()``, budget rounded to the us.
    mine = page_dict(page)
    assert mine["period"] == {"start": iso(report.month_start), "end": iso(report.end)}
    for section, ours in zip(
        report.clusters[0].services, mine["clusters"][0]["services"], strict=True
    ):
        theirs = section.period.to_dict()
        for key in ("error_budget_seconds", "error_budget_remaining_seconds"):
            theirs[key] = round(float(theirs[key]), 6)
        assert ours["service"] == theirs["service"]
        assert {k: ours["month"][k] for k in MONTH_KEYS} == {k: theirs[k] for k in MONTH_KEYS}
    ctl = mine["clusters"][0]["services"][0]["month"]
    assert ctl["downtime_seconds"] == 300  # the 5 minutes of November


def test_incidents_and_failovers_newest_first_with_causes():
    _, page = _page()
    ctl, _ = _days(page_dict(page), "slurmctld")
    starts = [i["start"] for i in ctl["incidents"]]
    assert starts == sorted(starts, reverse=True)
    assert starts[0] == "2026-10-31T22:55:00Z"
    by_start = {i["start"]: i for i in ctl["incidents"]}
    assert by_start["2026-10-03T10:00:00Z"]["duration_seconds"] == 750
    assert by_start["2026-10-03T10:00:00Z"]["cause"] == "both controllers down"
    assert by_start["2026-10-28T09:00:00Z"]["cause"].startswith("split-brain")
    assert [f["kind"] for f in ctl["failovers"]] == ["failback", "failover"]
    assert ctl["failovers"][1]["to"].startswith("ctl2")


def test_public_mode_hides_hosts_and_causes():
    _, page = _page(public=True)
    doc = page_dict(page)
    # Maintenance reasons are announcements, shown as written (this one names hosts).
    assert doc["clusters"][0]["recent_maintenance"][0]["reason"].startswith("kernel update")
    for cluster in doc["clusters"]:
        del cluster["recent_maintenance"], cluster["maintenance"]
    text = json.dumps(doc)
    html = render_html(page).decode().split("<h3>Announced maintenance</h3>")[0]
    for secret in ("ctl1", "ctl2", "dbd1", "controllers down", "split-brain"):
        assert secret not in text and secret not in html, secret
    ctl, _ = _days(page_dict(page), "slurmctld")
    assert ctl["incidents"][0]["cause"] is None
    assert ctl["failovers"][1]["to"] == "backup"


def test_live_state_from_the_daemon_and_its_words():
    since = to_us(NOW) - 60 * US
    live = {("prod", "slurmctld"): Live("up", since, "failover", "ctl2", "backup")}
    _, page = _page(live=live)
    ctl, _ = _days(page_dict(page), "slurmctld")
    assert ctl["state"] == "up" and ctl["active"] == {"role": "backup", "hostname": "ctl2"}
    assert ctl["state_text"] == "Operational (served by the backup)"
    assert "on ctl2" in render_html(page).decode()
    dbd, _ = _days(page_dict(page), "slurmdbd")  # no live state: the ledger's last
    assert dbd["state"] == "up" and dbd["since"] == "2026-10-25T01:30:00Z"


def test_customers_select_clusters():
    cfg = parse_config(
        '[[clusters]]\nname = "a"\ncustomer = "acme"\n[[clusters]]\nname = "b"\n'
        '[[clusters]]\nname = "c"\ncustomer = "acme"\n[[clusters]]\nname = "d"\n'
        'customer = "globex"\n'
    )
    assert customers(cfg) == ("acme", "globex")
    assert clusters_of(cfg, "acme") == ("a", "c")
    assert clusters_of(cfg, None) == ("a", "b", "c", "d")
    with pytest.raises(UnknownCustomer, match="no cluster has customer 'initech'$"):
        clusters_of(cfg, "initech")


def test_customer_and_status_keys_are_validated():
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_config('[[clusters]]\nname = "a"\ncustomer = " "\n[status]\npublic = "yes"\n')
    text = "\n".join(err.value.problems)
    assert "clusters[0].customer: must not be empty" in text
    assert "status.public" in text


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(a[key])


def test_html_is_self_contained_with_bars_and_text_for_each_day():
    _, page = _page()
    html = render_html(page).decode()
    dom = _Dom()
    dom.feed(html)
    assert dom.external == [] and "<script" not in html
    rects = [a for t, a in dom.tags if t == "rect" and "day" in (a.get("class") or "")]
    assert len(rects) == 2 * DAYS
    assert {a["data-kind"] for a in rects} >= {"nodata", "unknown", "up", "outage", "maintenance"}
    # The hover and the table say the same figures for each day.
    assert html.count("<title>2026-10-03: 99.132 % available") == 1
    assert len(re.findall(r'<tr data-date="2026-10-03">', html)) == 2
    assert '<meta name="viewport"' in html and "@media print" in html
    incidents = [a for t, a in dom.tags if t == "tr" and a.get("class") == "incident"]
    assert len(incidents) == sum(len(s.incidents) for s in page.clusters[0].services)


def test_a_service_in_a_window_is_under_maintenance_since_its_start():
    from monitor.ledger.maintenance import StoredWindow
    from monitor.status.model import _maintenance_start, recent, upcoming

    start, end = to_us(NOW) - 600 * US, to_us(NOW) + 600 * US
    w = StoredWindow(1, "cli", start, end, ("prod",), ("slurmdbd",), "disk swap", "none",
                     None, "UTC", start, "alice")  # fmt: skip
    assert _maintenance_start([w], "prod", "slurmdbd", to_us(NOW)) == start
    assert _maintenance_start([w], "prod", "slurmctld", to_us(NOW)) is None
    assert _maintenance_start([w], "prod", "slurmdbd", end) is None
    assert [u.reason for u in upcoming([w], "prod", to_us(NOW))] == ["disk swap"]
    assert recent([w], "prod", start - DAYS * 86400 * US, to_us(NOW)) == ()
    assert [u.services for u in recent([w], "prod", start, end)] == [("slurmdbd",)]

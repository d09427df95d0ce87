"""Credits and contract wording (issue 18, point 3): the ``[[sla.credits]]`` ladder, whole
downtime minutes, degraded time counted as up, down or a share, and the report's credit
owed with its evidence in every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import CreditTier, parse_config
from monitor.errors import ConfigError
from monitor.ledger.sla import Policy
from monitor.ledger.timebase import MINUTE_US, US
from monitor.report import render_json
from monitor.report.credits import credit
from monitor.report.render import render
from tests.support.report_month import CONFIG, in_october, october, report_of  # noqa: F401
from tests.support.sla_timeline import at, cov, tl, tr

# The report tests run in the known month's directory (its config.toml and state/).
pytestmark = pytest.mark.usefixtures("in_october")

LADDER = """
[[sla.credits]]
below = 99.9
credit_percent = 10
[[sla.credits]]
below = 99.0
credit_percent = 25
[[sla.credits]]
below = 95.0
credit_percent = 100
"""


# --- config ------------------------------------------------------------------------------


def test_the_sla_section_reads_credits_granularity_and_degraded():
    cfg = parse_config(
        '[[clusters]]\nname = "a"\n[sla]\ndowntime_granularity = "minute"\n'
        'degraded_counts_as = 0.25\n' + LADDER
        + '[[sla.credits]]\nservice = "slurmdbd"\nbelow = 99.5\ncredit_percent = 5\n',
        "c.toml",
    )  # fmt: skip
    sla = cfg.sla
    assert (sla.downtime_granularity, sla.degraded_counts_as) == ("minute", 0.25)
    assert sla.credits[0] == CreditTier(99.9, 10.0, None)
    assert sla.credits[-1] == CreditTier(99.5, 5.0, "slurmdbd")
    one = '[[clusters]]\nname = "a"\n'
    assert parse_config(one + '[sla]\ndegraded_counts_as = "down"', "c").sla.degraded_counts_as == 1
    assert parse_config(one, "c.toml").sla.degraded_counts_as == 0  # degraded: up by default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[sla]\ndowntime_granularity = "hour"', "sla.downtime_granularity: must be one of"),
        ('[sla]\ndegraded_counts_as = "half"', 'sla.degraded_counts_as: must be "up", "down"'),
        ("[sla]\ndegraded_counts_as = 1.5", "sla.degraded_counts_as: must be <= 1"),
        ("[[sla.credits]]\nbelow = 99.9", "sla.credits[0].credit_percent: required key"),
        ("[[sla.credits]]\nbelow = 101\ncredit_percent = 5", "sla.credits[0].below: must be <="),
        ('[[sla.credits]]\nbelow = 99\ncredit_percent = 5\nservice = "slurmd"',
         "sla.credits[0].service: must be one of"),
        ("[[sla.credits]]\nbelow = 99\ncredit_percent = 5\nfoo = 1", "sla.credits[0].foo: unknown"),
        ("[[sla.credits]]\nbelow = 99\ncredit_percent = 5\n[[sla.credits]]\nbelow = 99\n"
         "credit_percent = 9", "sla.credits[1].below: a second tier below 99"),
    ],
)  # fmt: skip
def test_sla_errors_name_the_key(text, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "c.toml")
    assert any(message in p for p in exc.value.problems), exc.value.problems


# --- the ladder --------------------------------------------------------------------------


def test_the_lowest_tier_reached_decides_and_a_service_tier_overrides_the_cluster_ones():
    ladder = [CreditTier(99.9, 10), CreditTier(99.0, 25), CreditTier(95.0, 100),
              CreditTier(99.5, 5, "slurmdbd")]  # fmt: skip
    assert credit(ladder, "slurmctld", 99.95).percent == 0
    assert credit(ladder, "slurmctld", 99.9).percent == 0  # not below
    assert (
        credit(ladder, "slurmctld", 99.89).percent,
        credit(ladder, "slurmctld", 99.89).below,
    ) == (10, 99.9)
    assert credit(ladder, "slurmctld", 98.0).percent == 25
    assert credit(ladder, "slurmctld", 10.0).percent == 100
    assert credit(ladder, "slurmdbd", 90.0).percent == 5  # its own ladder only
    assert credit([], "slurmctld", 10.0) is None and credit(ladder, "slurmctld", None) is None


# --- counting ----------------------------------------------------------------------------


def test_whole_minutes_count_every_minute_with_downtime():
    t = [tr(0, "up"), tr(100, "down"), tr(160, "up"), tr(400, "down"), tr(401, "up")]
    seconds = tl(t, [cov(0, 1200)], hi=1200).breakdown(at(0), at(1200))
    minutes = tl(t, [cov(0, 1200)], hi=1200, policy=Policy(whole_minutes=True))
    b = minutes.breakdown(at(0), at(1200))
    assert seconds.downtime_us == 61 * US
    assert b.downtime_us == 3 * MINUTE_US  # 100-160 touches two minutes, 400-401 one
    # minute [60, 120) falls in the first part, [120, 180) and [360, 420) in the second
    assert minutes.breakdown(at(0), at(120)).downtime_us == MINUTE_US
    assert minutes.breakdown(at(120), at(1200)).downtime_us == 2 * MINUTE_US
    (first, second) = minutes.incidents("c", "slurmctld", at(0), at(1200))
    assert (first.downtime_us, second.downtime_us) == (2 * MINUTE_US, MINUTE_US)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3000), st.sampled_from(["up", "down", "degraded"])),
                min_size=1, max_size=25))  # fmt: skip
def test_whole_minutes_are_never_less_add_up_at_minute_edges_and_fit(changes):
    moments = sorted({a for a, _ in changes})
    states = dict(changes)
    t = [tr(0, "up")] + [tr(a, states[a]) for a in moments]
    secs = tl(t, [cov(0, 3600)], hi=3600)
    mins = tl(t, [cov(0, 3600)], hi=3600, policy=Policy(whole_minutes=True))
    whole = mins.breakdown(at(0), at(3600))
    assert whole.downtime_us >= secs.breakdown(at(0), at(3600)).downtime_us
    assert whole.downtime_us % MINUTE_US == 0 and whole.downtime_us <= whole.eligible_us
    parts = sum(mins.breakdown(at(m * 60), at(m * 60 + 60)).downtime_us for m in range(60))
    assert parts == whole.downtime_us


def test_degraded_counts_as_up_down_or_a_share():
    t = [tr(0, "up"), tr(100, "down"), tr(160, "degraded"), tr(200, "up")]

    def downtime(weight):
        return tl(t, [cov(0, 1000)], policy=Policy(degraded_weight=weight)).breakdown(
            at(0), at(1000)).downtime_us  # fmt: skip

    assert (downtime(0), downtime(1), downtime(0.5)) == (60 * US, 100 * US, 80 * US)


# --- in the report -----------------------------------------------------------------------


def _with(tmp: str, extra: str) -> str:
    zone = 'timezone = "Europe/Berlin"\n'
    Path(tmp).write_text(CONFIG.replace(zone, zone + extra) + LADDER)
    return tmp


def test_the_report_owes_credit_with_its_evidence_in_every_format():
    r = report_of(config=_with("credits.toml", ""))
    ctl, dbd = r.services
    assert (ctl.credit.percent, ctl.credit.below) == (10, 99.9)  # 99.848 %
    # slurmdbd at 99.82 % is below 99.9 too: the cluster-wide ladder applies to it
    assert (dbd.credit.percent, dbd.credit.below) == (10, 99.9)
    doc = json.loads(render(r, "json"))
    pytest.importorskip("jsonschema").validate(doc, render_json.SCHEMA)
    c = doc["clusters"][0]
    assert [(s["service"], s["credit_percent"]) for s in c["services"]] == [
        ("slurmctld", 10.0), ("slurmdbd", 10.0)]  # fmt: skip
    assert c["credit_percent"] == 10.0
    md = render(r, "md").decode()
    section = md.split("### Service credit")[1].split("### Incidents")[0]
    assert "| slurmctld | 99.848 % | 1h 07m 30s | 10 % (below 99.9 %) |" in section
    # the evidence: each incident with counted downtime, with its minutes
    assert "| slurmctld | 2026-10-03 12:00:00 CEST | 2026-10-03 12:12:30 CEST | 12.50 |" in section
    assert "| slurmdbd | 2026-10-25 02:30:00 CEST | 2026-10-25 02:30:00 CET | 60 |" in section
    assert "2026-10-21" not in section  # inside maintenance: counted nothing
    html = render(r, "html").decode()
    assert '<table class="credits">' in html and '<table class="evidence">' in html
    assert "10 % (below 99.9 %)" in html
    rows = list(csv.DictReader(io.StringIO(render(r, "csv").decode())))
    assert [(x["service"], x["credit_percent"]) for x in rows if x["record"] == "service"] == [
        ("slurmctld", "10"), ("slurmdbd", "10")]  # fmt: skip


def test_whole_minutes_in_the_report():
    r = report_of(config=_with("minutes.toml", 'downtime_granularity = "minute"\n'))
    ctl = r.services[0]
    # 750 s from 10:00:00 touches 13 minutes; 3000 s and 300 s are whole minutes already
    assert ctl.period.breakdown.downtime_us == (13 * 60 + 3000 + 300) * US
    assert ctl.burn[-1][1] == ctl.period.breakdown.downtime_us
    md = render(r, "md").decode()
    assert "| slurmctld | 2026-10-03 12:00:00 CEST | 2026-10-03 12:12:30 CEST | 13 |" in md
    assert "every minute with downtime counts whole" in md
    assert json.loads(render(r, "json"))["inputs"]["settings"]["downtime_granularity"] == "minute"


def test_no_ladder_no_credit_section():
    r = report_of()
    assert all(s.credit is None for s in r.services)
    assert "Service credit" not in render(r, "md").decode()
    assert json.loads(render(r, "json"))["clusters"][0]["credit_percent"] is None


def test_the_credit_per_customer():
    text = CONFIG.replace('name = "prod"\n', 'name = "prod"\ncustomer = "acme"\n') + LADDER
    Path("customer.toml").write_text(text)
    r = report_of(config="customer.toml")
    doc = json.loads(render(r, "json"))
    pytest.importorskip("jsonschema").validate(doc, render_json.SCHEMA)
    assert doc["customers"] == [
        {"name": "acme", "clusters": ["prod"], "status": "breached", "credit_percent": 10.0}
    ]
    assert doc["clusters"][0]["customer"] == "acme"
    assert "Customer: acme" in render(r, "md").decode()
    assert "Customer: acme" in render(r, "html").decode()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 3000), st.sampled_from(["up", "down", "degraded"])),
             min_size=1, max_size=25),
    st.floats(0, 1),
)  # fmt: skip
def test_a_share_of_degraded_time_lies_between_up_and_down(changes, share):
    moments = sorted({a for a, _ in changes})
    states = dict(changes)
    t = [tr(0, "up")] + [tr(a, states[a]) for a in moments]

    def downtime(weight):
        return tl(t, [cov(0, 3600)], hi=3600, policy=Policy(degraded_weight=weight)).breakdown(
            at(0), at(3600)).downtime_us  # fmt: skip

    up, down, some = downtime(0), downtime(1), downtime(share)
    b = tl(t, [cov(0, 3600)], hi=3600).breakdown(at(0), at(3600))
    assert up == b.down_us and down == b.down_us + b.degraded_us
    assert up <= some <= down and abs(some - (up + share * b.degraded_us)) <= len(t)

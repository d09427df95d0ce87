"""Hostile Slurm output (absurd nesting, numbers no Slurm prints) is a ParseError naming
the cause, for every KIND; in the daemon it becomes reason ``parse``, never a crashed probe
with reason ``command_failed``."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.errors import ParseError
from monitor.parsers import KINDS, parser_for
from monitor.probes.base import parsed_result
from monitor.reasons import Reason
from monitor.runner import CommandResult
from tests.support.fixtures import FIXTURES

# show-config is parsed in its text form only: it refuses JSON before decoding it.
JSON_KINDS = [k for k in KINDS if k not in ("slurm-conf", "show-config")]
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
DEEP_ARRAY = '{"pings": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize("kind", JSON_KINDS)
@pytest.mark.parametrize("text", [DEEP_OBJECT, DEEP_ARRAY], ids=["object", "array"])
def test_deep_nesting_is_named(kind, text):
    with pytest.raises(ParseError, match="nested too deeply"):
        parser_for(kind)(text)


@pytest.mark.parametrize("kind", JSON_KINDS)
@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9" * 30])
def test_numbers_no_slurm_prints_are_named(kind, number):
    text = '{"meta": {}, "pings": [], "clusters": [], "statistics": {"x": NUMBER}}'
    text = text.replace("NUMBER", number)
    with pytest.raises(ParseError, match=r"number out of range in JSON: "):
        parser_for(kind)(text)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("cluster", "c1|ctl1|6817|" + "9" * 5000 + "\n"),
        ("cluster", "c1|ctl1|" + "9" * 5000 + "|9728\n"),
    ],
)
def test_a_number_past_pythons_conversion_limit_is_a_parse_error(kind, text):
    with pytest.raises(ParseError, match="more digits than any Slurm value"):
        parser_for(kind)(text)


def test_sdiag_text_with_a_huge_counter():
    text = (FIXTURES / "sdiag" / "22.05-backfill.txt").read_text(encoding="utf-8")
    huge = text.replace("Server thread count:  3", "Server thread count:  " + "9" * 5000, 1)
    assert huge != text
    with pytest.raises(ParseError, match="^sdiag: value out of range: a number with more"):
        parser_for("sdiag")(huge)


@pytest.mark.parametrize("text", [DEEP_OBJECT, '{"pings": [{"latency": 1e400}]}'])
def test_in_the_daemon_hostile_output_is_reason_parse(text):
    result = CommandResult(("scontrol", "ping", "--json"), 0, text, "", 0.1, None)
    probe = parsed_result("ping", dt.datetime.now(dt.UTC), result, parser_for("ping"))
    assert probe.reason is Reason.PARSE
    assert "crashed" not in probe.message
    assert probe.message.startswith("ping: scontrol ping: ")

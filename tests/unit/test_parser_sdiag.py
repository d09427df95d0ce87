"""``sdiag`` parser: every fixture against its golden, values per fixture, both forms, bad input."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.parsers import parser_for
from monitor.parsers.common import expand_hostlist
from monitor.parsers.sdiag import (
    BackfillExit,
    PendingRpc,
    PendingRpcHosts,
    RpcTypeStat,
    RpcUserStat,
    ScheduleExit,
    parse,
)
from tests.support.fixtures import FIXTURES, assert_matches_golden, golden_path, stdout_fixtures
from tests.support.fixtures import fixture_meta as _meta
from tests.support.fixtures import read_fixture as _read

KIND = "sdiag"
DIR = FIXTURES / KIND
T = 1795687200  # the hand-written fixtures' "now": Thu Nov 26 10:00:00 2026 UTC


def _fixture(name: str) -> str:
    return _read(DIR / name)


def _doc(name: str) -> dict:
    return parse(_fixture(name)).to_dict()["statistics"]


# ------------------------------------------------------------------ every fixture


@pytest.mark.parametrize("fixture", stdout_fixtures(KIND), ids=lambda p: p.name)
def test_fixture_matches_golden(fixture: Path) -> None:
    assert_matches_golden(fixture, parse)


@pytest.mark.parametrize("fixture", stdout_fixtures(KIND), ids=lambda p: p.name)
def test_every_parsed_fixture_is_coherent(fixture: Path) -> None:
    """Whatever the version: values Slurm leaves out stay out, never become 0."""
    try:
        result = parse(_read(fixture))
    except ParseError:
        assert not golden_path(fixture).exists()
        return
    doc = result.to_dict()["statistics"]
    assert doc["req_time"] >= doc["req_time_start"] >= 0
    if doc["schedule_cycle_total"] == 0:
        assert "schedule_cycle_mean" not in doc and "schedule_cycle_mean_depth" not in doc
    if doc["req_time"] - doc["req_time_start"] <= 60 or result.data_since_epoch0:
        assert "schedule_cycle_per_minute" not in doc
    if doc["bf_cycle_counter"] == 0:
        assert not {"bf_cycle_mean", "bf_depth_mean", "bf_queue_len_mean"} & set(doc)
    assert doc.get("bf_when_last_cycle", 1) > 0
    counts = [r["count"] for r in doc["rpcs_by_message_type"]]
    assert counts == sorted(counts, reverse=True)
    for rpc in doc["rpcs_by_message_type"] + doc["rpcs_by_user"]:
        if rpc["count"]:
            assert rpc["average_time"] == rpc["total_time"] // rpc["count"]
        else:  # sdiag prints ave_time:0 for an empty series: no average
            assert "average_time" not in rpc
    if "job_states_ts" not in doc:
        assert "jobs_pending" not in doc and "jobs_running" not in doc


RECORDED = [p for p in stdout_fixtures(KIND) if _meta(p) is not None]


@pytest.mark.parametrize("fixture", RECORDED, ids=lambda p: p.name)
def test_recorded_fixture_agrees_with_its_run(fixture: Path) -> None:
    """A recording parses exactly when sdiag succeeded (rc 0); a failed run printed no stats."""
    meta = _meta(fixture)
    if meta.get("returncode") == 0:
        result = parse(_read(fixture))
        assert result.req_time > 0 and result.server_thread_count >= 1
    else:
        with pytest.raises(ParseError):
            parse(_read(fixture))


def test_registry_gives_this_parser() -> None:
    assert parser_for(KIND) is parse


# ------------------------------------------------------------------ values per fixture


def test_19_05_steady_older_line_set() -> None:
    r = parse(_fixture("19.05-steady.txt"))
    assert (r.form, r.req_time, r.req_time_start) == ("text", T, T - 36000)
    assert r.agent_thread_count is None and r.agent_count == 0  # no such line before 20.x
    assert (r.schedule_cycle_total, r.schedule_cycle_mean, r.schedule_cycle_per_minute) == (
        720,
        1530,
        1,
    )
    assert (r.bf_cycle_counter, r.bf_cycle_mean, r.bf_table_size_mean) == (120, 2240, 7)
    assert r.bf_when_last_cycle == T - 30 and r.schedule_exit is None and r.bf_exit is None
    assert r.rpcs_by_user == (RpcUserStat("root", 0, 1890, 213, 402977),
                              RpcUserStat("alice", 1001, 1111, 277, 308763))  # fmt: skip
    assert r.pending_rpcs == () and r.pending_rpcs_by_hostlist == ()


def test_before_n_a_an_unrun_backfill_printed_epoch_0() -> None:
    """Until "Last cycle when: N/A" existed, sdiag printed the epoch-0 date for no cycle."""
    text = _fixture("19.05-steady.txt").replace(
        "Last cycle when: Thu Nov 26 09:59:30 2026 (1795687170)",
        "Last cycle when: Thu Jan 01 00:00:00 1970 (0)",
    )
    assert parse(text).bf_when_last_cycle is None
    assert "bf_when_last_cycle" not in parse(text).to_dict()["statistics"]


def test_21_08_restart_leaves_out_what_sdiag_did_not_print() -> None:
    r = parse(_fixture("21.08-restart.txt"))
    assert r.req_time - r.req_time_start == 30 and not r.data_since_epoch0
    assert (r.schedule_cycle_total, r.schedule_cycle_mean, r.schedule_cycle_mean_depth) == (
        3,
        910,
        2,
    )
    assert r.schedule_cycle_per_minute is None  # under a minute: no line
    assert r.bf_cycle_counter == 0 and r.bf_when_last_cycle is None  # "Last cycle when: N/A"
    means = ("bf_cycle_mean", "bf_depth_mean", "bf_depth_mean_try", "bf_queue_len_mean")
    assert all(getattr(r, k) is None for k in (*means, "bf_table_size_mean"))
    doc = r.to_dict()["statistics"]
    assert "schedule_cycle_per_minute" not in doc and "bf_when_last_cycle" not in doc
    assert doc["jobs_submitted"] == 0 and doc["agent_thread_count"] == 0  # printed zeros stay


def test_23_02_steady_text_with_pending_hostlists() -> None:
    r = parse(_fixture("23.02-steady.txt"))
    assert (r.agent_queue_size, r.agent_count, r.agent_thread_count) == (2, 1, 3)
    assert r.rpcs_by_message_type[0] == RpcTypeStat(
        "REQUEST_PARTITION_INFO", 2009, 1440, 171, 246240
    )
    assert r.rpcs_by_message_type[-1].message_type == "REQUEST_STATS_INFO"
    assert r.pending_rpcs == (PendingRpc("REQUEST_TERMINATE_JOB", 6011, 2),)
    assert r.pending_rpcs_by_hostlist == (
        PendingRpcHosts("REQUEST_TERMINATE_JOB", 6011, ("c1", "c2")),
    )
    assert r.rpc_queue_enabled is None and r.bf_active is False


def test_23_02_json_v0039_plain_numbers_and_slurm_bug() -> None:
    r = parse(_fixture("23.02-steady.json"))
    assert (r.form, r.data_parser) == ("json", "data_parser/v0.0.39")
    assert (r.req_time, r.job_states_ts, r.bf_when_last_cycle) == (T, T - 10, T - 30)
    # v0.0.39 has no bf_cycle_max and writes the queue-length mean (3) as bf_table_size_mean,
    # without the sum to correct it: the wrong number is dropped, not passed on.
    assert r.bf_cycle_max is None and r.bf_table_size_mean is None
    assert r.pending_rpcs is None and r.pending_rpcs_by_hostlist is None
    assert r.schedule_exit is None and r.bf_exit is None


def test_23_11_takeover_data_since_epoch_0() -> None:
    r = parse(_fixture("23.11-takeover.txt"))
    assert r.data_since_epoch0 and r.req_time_start == 0 and r.req_time == T
    # sdiag printed "Cycles per minute: 0" (cycles over 56 years); meaningless, so absent.
    assert "\tCycles per minute: 0\n" in _fixture("23.11-takeover.txt")
    assert r.schedule_cycle_per_minute is None
    assert r.job_states_ts is None and r.jobs_running is None  # "(0)": not counted yet
    assert r.schedule_exit == ScheduleExit(1, 0, 0, 0, 0, 0)
    assert r.bf_exit == BackfillExit(0, 0, 0, 0, 0, 0)
    assert r.to_dict()["statistics"]["req_time_start"] == 0


def test_24_05_backfill_running_with_rpc_queue() -> None:
    r = parse(_fixture("24.05-bf-active.txt"))
    assert r.bf_active and r.rpc_queue_enabled
    assert (r.server_thread_count, r.agent_queue_size, r.dbd_agent_queue_size) == (17, 9, 311)
    assert r.schedule_exit == ScheduleExit(690, 22, 0, 8, 0, 0)
    assert r.bf_exit == BackfillExit(
        101, 0, 0, bf_max_time=12, bf_node_space_size=0, state_changed=7
    )
    first = r.rpcs_by_message_type[0]
    assert first == RpcTypeStat("REQUEST_JOB_INFO", 2003, 90211, 452, 40811023, 3, 0, 12, 57)
    assert r.rpcs_by_message_type[1].dropped == 2
    assert [u.user for u in r.rpcs_by_user] == ["alice", "bob", "root"]
    assert [p.count for p in r.pending_rpcs] == [9, 2]
    assert [(d.message_type, d.type_id, len(d.hosts)) for d in r.pending_rpcs_by_hostlist] == [
        ("REQUEST_TERMINATE_JOB", 6011, 5), ("REQUEST_TERMINATE_JOB", 6011, 4),
        ("REQUEST_LAUNCH_PROLOG", 6017, 2),
    ]  # fmt: skip
    assert r.pending_rpcs_by_hostlist[0].hosts == ("c101", "c102", "c103", "c104", "c110")


def test_24_11_json_v0042_structs() -> None:
    r = parse(_fixture("24.11-steady.json"))
    assert (r.form, r.data_parser, r.req_time) == ("json", "data_parser/v0.0.42", T)
    assert r.bf_table_size_mean == 7  # from bf_table_size_sum, not Slurm's 3
    ping = next(x for x in r.rpcs_by_message_type if x.message_type == "REQUEST_PING")
    assert (ping.count, ping.total_time, ping.average_time) == (1200, 0, 0)  # unset in JSON
    # The queue is off: JSON still says 0 for its columns; they are left out, as in the text.
    assert all(x.queued is None and x.cycle_max is None for x in r.rpcs_by_message_type)
    assert [x.type_id for x in r.rpcs_by_message_type] == [2009, 2003, 1008, 2007, 1002, 4003]
    assert r.pending_rpcs == () and r.pending_rpcs_by_hostlist == ()


def test_25_05_fresh_start_has_no_means_in_either_form() -> None:
    for name in ("25.05-fresh-start.txt", "25.05-fresh-start.json"):
        doc = _doc(name)
        absent = {"schedule_cycle_mean", "schedule_cycle_mean_depth", "schedule_cycle_per_minute",
                  "bf_cycle_mean", "bf_depth_mean", "bf_depth_mean_try", "bf_queue_len_mean",
                  "bf_table_size_mean", "bf_when_last_cycle"}  # fmt: skip
        assert not absent & set(doc), name
        assert doc["schedule_cycle_total"] == 0 and doc["server_thread_count"] == 1
        assert doc["rpcs_by_message_type"] == [] and doc["rpcs_by_user"] == []
    assert "\tNo RPCs recorded yet.\n" in _fixture("25.05-fresh-start.txt")


def test_25_11_rpc_queue_columns_survive_in_json() -> None:
    r = parse(_fixture("25.11-rpc-queue.json"))
    assert r.data_parser == "data_parser/v0.0.44" and r.rpc_queue_enabled is None
    assert [(x.message_type, x.queued, x.dropped) for x in r.rpcs_by_message_type] == [
        ("REQUEST_PARTITION_INFO", 1, 0), ("REQUEST_JOB_INFO", 0, 0),
        ("REQUEST_SUBMIT_BATCH_JOB", 0, 1),
    ]  # fmt: skip
    assert r.pending_rpcs_by_hostlist[0].hosts == ("c07", "c08", "c09", "c12")


# ------------------------------------------------------------------ recorded on Slurm 22.05
# Asserted by situation, not by number: `record_fixtures.py` may re-record them.


def _recorded(situation: str):
    path = DIR / f"22.05-{situation}.txt"
    if not path.exists():
        pytest.skip(f"{path.name} not recorded")
    return parse(_read(path))


def test_recorded_healthy() -> None:
    r = _recorded("healthy")
    assert r.form == "text" and not r.data_since_epoch0 and r.rpc_queue_enabled is None
    assert r.schedule_exit is None and r.bf_exit is None  # 22.05 has no exit sections
    if r.req_time - r.req_time_start > 60:
        assert r.schedule_cycle_per_minute is not None
    assert r.rpcs_by_message_type and r.rpcs_by_user and r.pending_rpcs == ()
    assert r.job_states_ts is not None and r.jobs_running is not None


@pytest.mark.parametrize("situation", ["fresh-start", "takeover-fresh"])
def test_recorded_fresh_controller_reports_epoch_0(situation: str) -> None:
    """Seconds after a start or a takeover: Data since (0), Job states ts (0)."""
    r = _recorded(situation)
    assert r.data_since_epoch0 and r.req_time_start == 0
    doc = r.to_dict()["statistics"]
    assert doc["req_time_start"] == 0
    # sdiag prints "Cycles per minute: 0" here and 0 pending/running jobs; none of them real.
    absent = {"schedule_cycle_per_minute", "job_states_ts", "jobs_pending", "jobs_running"}
    assert not absent & set(doc)


def test_recorded_takeover_keeps_an_empty_user_entry() -> None:
    r = _recorded("takeover-fresh")
    empty = [u for u in r.rpcs_by_user if u.count == 0]
    assert all(u.average_time is None and u.total_time == 0 for u in empty)


def test_recorded_reset_keeps_last_values_but_no_means() -> None:
    r = _recorded("after-reset")
    assert r.schedule_cycle_total == 0 and r.schedule_cycle_mean is None
    assert r.bf_cycle_counter == 0 and r.bf_cycle_mean is None
    # The reset zeroes counters, not the time of the last backfill cycle.
    assert r.bf_when_last_cycle is None or r.bf_when_last_cycle <= r.req_time


def test_recorded_backfill() -> None:
    r = _recorded("backfill")
    assert r.bf_cycle_counter > 0 and r.bf_when_last_cycle is not None
    assert None not in (r.bf_cycle_mean, r.bf_depth_mean, r.bf_queue_len_mean, r.bf_table_size_mean)


@pytest.mark.parametrize(
    ("situation", "stderr"),
    [
        ("both-killed", "Unable to contact slurm controller"),
        ("primary-unreachable", "standby mode"),
        ("primary-frozen", "timed out"),
        ("munge-down", "Munge"),
        ("json-unsupported", "unrecognized option '--json'"),
    ],
)
def test_recorded_failures_print_nothing_to_parse(situation: str, stderr: str) -> None:
    path = DIR / f"22.05-{situation}.txt"
    if not path.exists():
        pytest.skip(f"{path.name} not recorded")
    assert stderr in path.with_suffix(".stderr").read_text()
    assert _meta(path)["returncode"] != 0
    with pytest.raises(ParseError, match="empty input"):
        parse(_read(path))


# ------------------------------------------------------------------ text vs JSON


@pytest.mark.parametrize("moment", ["24.11-steady", "25.05-fresh-start", "25.11-rpc-queue"])
def test_text_and_json_of_one_moment_give_one_document(moment: str) -> None:
    assert _doc(f"{moment}.txt") == _doc(f"{moment}.json")


def test_v0039_json_is_the_text_minus_what_it_lacks() -> None:
    text, js = _doc("23.02-steady.txt"), _doc("23.02-steady.json")
    assert set(text) - set(js) == {"bf_cycle_max", "bf_table_size_mean", "pending_rpcs",
                                   "pending_rpcs_by_hostlist"}  # fmt: skip
    assert all(text[k] == v for k, v in js.items())


def test_crlf_and_space_indent_parse_the_same() -> None:
    text = _fixture("24.11-steady.txt")
    assert parse(text.replace("\n", "\r\n")) == parse(text)
    assert parse(text.replace("\t", "    ")) == parse(text)


# ------------------------------------------------------------------ newer Slurm lines


STEADY = _fixture("24.11-steady.txt")


def test_unknown_key_in_a_known_section_is_ignored() -> None:
    text = STEADY.replace("\tLast table size: 5\n", "\tLast table size: 5\n\tShiny new stat: 9\n")
    assert parse(text) == parse(STEADY)


def test_unknown_top_line_and_unknown_section_are_ignored() -> None:
    text = STEADY.replace("DBD Agent queue size: 0\n", "DBD Agent queue size: 0\nNew gauge: 4\n")
    text = text.replace("\nLatency", "\nFuture statistics\n\tWidgets: 3\n\tGadgets: 4\n\nLatency")
    assert parse(text) == parse(STEADY)


def test_unknown_exit_reason_is_ignored() -> None:
    text = STEADY.replace(
        "\tBlocked on licenses: 0\n", "\tBlocked on licenses: 0\n\tHit new limit: 3\n"
    )
    assert parse(text).schedule_exit == parse(STEADY).schedule_exit


# ------------------------------------------------------------------ bad input


def _error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty input"),
        ("  \n\n", "empty input"),
        ("****\x00****\n", "binary"),
        ("\ufffd\ufffdPK\x03\x04", "UTF-8"),
        ("Reset scheduling statistics\n", "sdiag --reset"),
        ("No data available. Probably slurmctld is not working\n", "no data"),
        ("Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup) at ctl2 is UP\n", "not sdiag"),
        (
            "Configuration data as of 2026-11-26T10:00:00\nAccountingStorageBackupHost = (null)\n",
            "not sdiag",
        ),  # fmt: skip
    ],
)
def test_not_sdiag_output(text: str, message: str) -> None:
    assert message in str(_error(text))


def test_sacctmgr_show_stats_text_is_not_sdiag() -> None:
    text = ("*******************************************************************\n"
            "sacctmgr show stats output at Thu Nov 26 10:00:00 2026 (1795687200)\n")  # fmt: skip
    err = _error(text)
    assert (err.line_no, "sdiag output at" in err.message) == (2, True)


def test_other_commands_json_is_not_sdiag() -> None:
    assert "no 'statistics'" in str(_error('{"pings": [], "errors": [], "warnings": []}'))
    stats = '{"statistics": {"time_start": 1795651200, "rollups": {}, "RPCs": [], "users": []}}'
    assert "not sdiag's" in str(_error(stats))
    failed = '{"errors": [{"description": "Unable to contact slurm controller"}]}'
    assert "Unable to contact slurm controller" in str(_error(failed))
    assert "malformed JSON" in str(_error('{"statistics": {"server_thread_count": 3'))
    assert "not sdiag output" in str(_error("[1, 2]"))


def test_truncated_mid_line_names_the_last_line() -> None:
    err = _error(STEADY[:-25])
    assert "truncated" in err.message and err.line_no == STEADY[:-25].count("\n") + 1


@pytest.mark.parametrize("keep", [3, 5, 12, 22, 35, 60, 66])
def test_truncated_at_a_line_boundary(keep: int) -> None:
    """Cut anywhere before the last section: always an error, never a partial document."""
    lines = STEADY.splitlines(keepends=True)
    assert keep < len(lines)
    err = _error("".join(lines[:keep]))
    assert err.line_no is not None and err.line is not None


def test_every_cut_before_the_pending_section_fails() -> None:
    lines = STEADY.splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if line.startswith("Pending RPC statistics"))
    for keep in range(1, end + 1):
        with pytest.raises(ParseError):
            parse("".join(lines[:keep]))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Server thread count:  3", "Server thread count:  three", "whole number"),
        ("Jobs failed:    1", "Jobs failed:    1.5", "whole number"),
        ("\tMax cycle:    48211", "\tMax cycle:    -", "whole number"),
        ("Jobs failed:    1\n", "Jobs failed:    1\nJobs failed:    1\n", "twice"),
        ("\tLast queue length: 2\n\n", "\tLast queue length: 2\n\tDepth Mean: 3\n\n", "backfill"),
        ("Jobs running:   4\n", "Jobs running:   4\n\tTotal cycles: 5\n", "indented"),
        (
            "\nBackfilling stats\n",
            "\nBackfilling stats\n\tTotal cycles: 5\n\tTotal cycles: 5\n",
            "twice",
        ),  # fmt: skip
        (
            "\nLatency",
            "\nMain schedule statistics (microseconds):\n\tLast cycle: 1\n\nLatency",
            "out of order",
        ),  # fmt: skip
        ("Jobs running:   4\n", "Jobs running:   4\nSegmentation fault\n", "unrecognised"),
        ("(1795687170)", "(soon)", "epoch"),
        ("count:1440   ave_time:171", "count:1440   ave_time:x71", "RPC-by-type"),
        ("count:1111   ave_time:277", "count:lots   ave_time:277", "RPC-by-user"),
        ("\tNo pending RPCs", "\tsome pending RPCs", "pending RPC"),
        ("\tEnd of job queue:715", "\tEnd of job queue:many", "whole number"),
        ("sdiag output at", "sdiag output on", "header"),
    ],
)
def test_bad_line_names_the_line(old: str, new: str, message: str) -> None:
    assert old in STEADY
    text = STEADY.replace(old, new, 1)
    err = _error(text)
    assert message in err.message
    assert err.line_no is not None and text.splitlines()[err.line_no - 1].rstrip() == err.line


def test_two_outputs_run_together() -> None:
    err = _error(STEADY + STEADY)
    assert "second sdiag header" in err.message and err.line_no == STEADY.count("\n") + 1


def test_bad_pending_hostlist() -> None:
    text = _fixture("25.11-rpc-queue.txt").replace("c[07-09],c12", "c[07-09")
    assert "hostlist" in _error(text).message
    text = _fixture("25.11-rpc-queue.txt").replace("\t 1: ", "\t 2: ")
    assert "sequence" in _error(text).message


JSON = json.loads(_fixture("24.11-steady.json"))


def _json_error(mutate) -> ParseError:
    doc = json.loads(json.dumps(JSON))
    mutate(doc["statistics"])
    return _error(json.dumps(doc))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.pop("jobs_failed"), "jobs_failed is missing"),
        (lambda s: s.update(jobs_failed="1"), "expected a number"),
        (lambda s: s.update(jobs_failed=True), "boolean"),
        (lambda s: s.update(jobs_failed=1.5), "whole number"),
        (lambda s: s.update(req_time={"set": False, "infinite": False, "number": 0}), "req_time"),
        (lambda s: s.update(bf_active="yes"), "bf_active"),
        (lambda s: s.update(rpcs_by_message_type={"a": 1}), "list of objects"),
        (lambda s: s["rpcs_by_message_type"][0].pop("count"), "count"),
        (lambda s: s["rpcs_by_user"][0].update(user=0), "user"),
        (lambda s: s.update(schedule_exit=[1, 2]), "schedule_exit"),
        (
            lambda s: s.update(
                pending_rpcs_by_hostlist=[{"type_id": 1, "message_type": "X", "count": [1]}]
            ),
            "host names",
        ),  # fmt: skip
    ],
)
def test_bad_json_values(mutate, message: str) -> None:
    assert message in str(_json_error(mutate))


def test_json_unset_start_is_the_takeover_epoch_0() -> None:
    doc = json.loads(json.dumps(JSON))
    doc["statistics"]["req_time_start"] = {"set": False, "infinite": False, "number": 0}
    result = parse(json.dumps(doc))
    assert result.data_since_epoch0 and result.schedule_cycle_per_minute is None


def test_json_nulls_mean_nothing_was_given() -> None:
    """Some v0.0.39 builds write null for unset means and for empty RPC lists."""
    doc = json.loads(_fixture("25.05-fresh-start.json"))
    stats = doc["statistics"]
    for key in ("schedule_cycle_mean", "bf_cycle_mean", "rpcs_by_message_type", "rpcs_by_user"):
        stats[key] = None
    assert parse(json.dumps(doc)).to_dict() == parse(_fixture("25.05-fresh-start.txt")).to_dict()


# ------------------------------------------------------------------ robustness


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_text_raises_only_parse_error(data) -> None:
    lines = STEADY.splitlines(keepends=True)
    i = data.draw(st.integers(0, len(lines) - 1))
    junk = data.draw(st.text(max_size=30))
    damaged = "".join(lines[:i]) + junk + "".join(lines[i + data.draw(st.integers(0, 2)) :])
    with contextlib.suppress(ParseError):
        parse(damaged)


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                                                                       max_size=3),
                    max_leaves=10), st.sampled_from(sorted(JSON["statistics"])))  # fmt: skip
def test_damaged_json_raises_only_parse_error(value, key: str) -> None:
    doc = json.loads(json.dumps(JSON))
    doc["statistics"][key] = value
    with contextlib.suppress(ParseError):
        parse(json.dumps(doc))


# ------------------------------------------------------------------ hostlists


@pytest.mark.parametrize(
    ("expr", "hosts"),
    [
        ("c1", ["c1"]),
        ("c[1-3]", ["c1", "c2", "c3"]),
        ("c[07-09],c12", ["c07", "c08", "c09", "c12"]),
        ("gpu[01-02]x,n[9-10]", ["gpu01x", "gpu02x", "n9", "n10"]),
        ("r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]),
    ],
)
def test_expand_hostlist(expr: str, hosts: list[str]) -> None:
    assert expand_hostlist(expr, KIND) == hosts


@pytest.mark.parametrize(
    "expr", ["", "c[1-", "c1,", "c]1", "c[a-b]", "c[3-1]", "c[[1]]", "n[0-99999999]"]
)
def test_expand_hostlist_rejects(expr: str) -> None:
    with pytest.raises(ParseError):
        expand_hostlist(expr, KIND)

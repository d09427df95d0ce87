"""``sacctmgr ping`` and ``sacctmgr show stats`` parsers: goldens, values, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parsers import parser_for, sacctmgr_ping, sacctmgr_stats
from monitor.parsers.ping import Ping
from monitor.parsers.sacctmgr_stats import ClusterRollup, Rollup, RpcTypeStat, RpcUserStat
from tests.support.fixtures import FIXTURES, assert_matches_golden, stdout_fixtures
from tests.support.fixtures import fixture_meta as _meta
from tests.support.fixtures import read_fixture as _read

PARSERS = {"sacctmgr-ping": sacctmgr_ping.parse, "sacctmgr-stats": sacctmgr_stats.parse}
ALL = [(kind, path) for kind in PARSERS for path in stdout_fixtures(kind)]


@pytest.mark.parametrize(("kind", "fixture"), ALL, ids=lambda v: getattr(v, "name", v))
def test_fixture_matches_golden(kind: str, fixture: Path) -> None:
    assert_matches_golden(fixture, PARSERS[kind])


RECORDED = [(kind, path) for kind, path in ALL if _meta(path) is not None]


@pytest.mark.parametrize(("kind", "fixture"), RECORDED, ids=lambda v: getattr(v, "name", v))
def test_recorded_fixture_agrees_with_its_run(kind: str, fixture: Path) -> None:
    """Empty stdout (a failed run, or 22.05's ``invalid keyword: ping``) never parses."""
    meta = _meta(fixture)
    text = _read(fixture)
    if not text.strip():
        assert meta["returncode"] != 0
        with pytest.raises(ParseError, match="empty input"):
            PARSERS[kind](text)
        return
    result = PARSERS[kind](text)
    if kind == "sacctmgr-stats":
        assert meta["returncode"] == 0
        assert result.time_start > 0 and result.rpcs_by_user


def test_registry_gives_these_parsers() -> None:
    for kind, parse in PARSERS.items():
        assert parser_for(kind) is parse


# --- sacctmgr ping -------------------------------------------------------------------------


def test_dbd_ping_text() -> None:
    report = sacctmgr_ping.parse(_read(FIXTURES / "sacctmgr-ping" / "24.11-primary-down.txt"))
    assert report.daemon == "slurmdbd" and report.form == "text"
    assert report.pings == (Ping("dbd1", "primary", False), Ping("dbd2", "backup", True))
    single = sacctmgr_ping.parse(_read(FIXTURES / "sacctmgr-ping" / "25.05-single-dbd.txt"))
    assert single.to_dict() == {
        "pings": [{"hostname": "dbd1", "mode": "primary", "responding": True}]
    }


def test_dbd_ping_json_derives_mode() -> None:
    report = sacctmgr_ping.parse(_read(FIXTURES / "sacctmgr-ping" / "24.11-both-up.json"))
    assert report.pings == (Ping("dbd1", "primary", True, 912), Ping("dbd2", "backup", True, 1044))
    text = sacctmgr_ping.parse(_read(FIXTURES / "sacctmgr-ping" / "24.11-both-up.txt"))
    assert report.to_dict() == text.to_dict()


def test_dbd_ping_json_v0_0_45_status() -> None:
    report = sacctmgr_ping.parse(_read(FIXTURES / "sacctmgr-ping" / "26.05-backup-down.json"))
    assert report.pings[1] == Ping("dbd2", "backup", False, 30112, "Connection refused")
    assert report.slurm_release == "26.05.0"


BAD_DBD_PING = [
    ("", "empty input"),
    ("sacctmgr: error: invalid keyword: ping\n", "not sacctmgr ping output"),
    ("Slurmctld(primary) at ctl1 is UP\n", "not sacctmgr ping output"),
    ("slurmdbd(primary) at dbd1 is UP\nslurmdbd(backup) at db", "unexpected line"),
    ("slurmdbd(backup) at dbd2 is UP\n", "Slurm names it"),
    ("slurmdbd(primary) at dbd1 is UP\nslurmdbd(backup1) at dbd2 is UP\n", "unexpected line"),
    (
        "slurmdbd(primary) at dbd1 is DOWN\n*****************************************\n",
        "unexpected line",
    ),
    ('{"pings": [{"hostname": "dbd1", "responding": true, "primary": false}]}', "primary=False"),
    ('{"pings": [{"hostname": "dbd1", "latency": 3}]}', "neither"),
    ('{"errors": [{"error": "Unable to connect to database"}]}', "Unable to connect"),
]


@pytest.mark.parametrize(("text", "message"), BAD_DBD_PING)
def test_bad_dbd_ping(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        sacctmgr_ping.parse(text)


# --- sacctmgr show stats -------------------------------------------------------------------


def test_stats_text_busy() -> None:
    stats = sacctmgr_stats.parse(_read(FIXTURES / "sacctmgr-stats" / "20.11-busy.txt"))
    assert stats.form == "text"
    assert stats.generated_at == 1795684820 and stats.time_start == 1795494020
    assert stats.rollups == (Rollup("internal", 1795683600, 18617, 35768, 551977, 28, 19713),)
    assert stats.cluster_rollups == (
        ClusterRollup("prod", "Hour", 1795683600, 2462, 7437, 102155, 53, 1927),
        ClusterRollup("prod", "Day", 1795651200, 8817, 8817, 17540, 2, 8770),
    )
    assert stats.rpcs_by_message_type[0] == RpcTypeStat(
        "SLURM_PERSIST_INIT", 6500, 1204, 750, 903000
    )
    assert [r.message_type for r in stats.rpcs_by_message_type] == [
        "SLURM_PERSIST_INIT",
        "DBD_CLUSTER_TRES",
        "DBD_GET_ASSOCS",
        "DBD_GET_ACCOUNTS",
        "DBD_FINI",
    ]
    assert stats.rpcs_by_user == (
        RpcUserStat("slurm", 64030, 1377, 1381, 1902100),
        RpcUserStat("root", 0, 118, 1009, 119138),
    )
    doc = stats.to_dict()["statistics"]
    assert list(doc) == ["time_start", "rollups", "rpcs_by_message_type", "rpcs_by_user"]
    assert doc["rpcs_by_user"][1] == {
        "user": "root",
        "user_id": 0,
        "count": 118,
        "average_time": 1009,
        "total_time": 119138,
    }


def test_stats_text_just_started_has_no_rollups() -> None:
    stats = sacctmgr_stats.parse(_read(FIXTURES / "sacctmgr-stats" / "23.11-just-started.txt"))
    assert stats.rollups == () and stats.cluster_rollups == ()
    assert stats.time_start == 1795684816
    assert stats.rpcs_by_message_type == (RpcTypeStat("SLURM_PERSIST_INIT", 6500, 1, 412, 412),)


def test_stats_json_v0_0_39_and_v0_0_43_agree() -> None:
    old = sacctmgr_stats.parse(_read(FIXTURES / "sacctmgr-stats" / "23.02-busy.json"))
    new = sacctmgr_stats.parse(_read(FIXTURES / "sacctmgr-stats" / "25.05-busy.json"))
    assert old.form == new.form == "json"
    assert (
        old.rollups
        == new.rollups
        == (Rollup("internal", 1795683600, 18617, 35768, 551977, 28, 19713),)
    )
    assert old.rpcs_by_message_type[1] == RpcTypeStat("DBD_GET_ASSOCS", None, 96, 10961, 1052313)
    assert new.rpcs_by_user == (RpcUserStat("slurm", None, 1204, 750, 903000),)
    assert "type_id" not in new.to_dict()["statistics"]["rpcs_by_message_type"][0]
    assert new.data_parser == "data_parser/v0.0.43" and old.slurm_release == "23.02.7"


def test_stats_text_and_json_agree_where_both_say() -> None:
    text = sacctmgr_stats.parse(_read(FIXTURES / "sacctmgr-stats" / "20.11-busy.txt"))
    json_doc = sacctmgr_stats.parse(_read(FIXTURES / "sacctmgr-stats" / "23.02-busy.json"))
    assert text.time_start == json_doc.time_start
    assert text.to_dict()["statistics"]["rollups"] == json_doc.to_dict()["statistics"]["rollups"]


def test_stats_json_mean_as_slurm_computes_it() -> None:
    doc = {
        "statistics": {
            "time_start": 10,
            "rollups": {
                "hourly": {"count": 1, "last_run": 5, "duration": {"last": 7, "max": 7, "time": 7}},
                "daily": {"count": 3, "last_run": 6, "duration": {"last": 2, "max": 9, "time": 10}},
            },
            "RPCs": [],
            "users": [],
        }
    }
    stats = sacctmgr_stats.parse(json.dumps(doc))
    assert stats.rollups == (
        Rollup("internal", 5, 7, 7, 7, 1, 7),
        Rollup("user", 6, 2, 9, 10, 3, 3),
    )


HEADER = (
    "*******************************************************************\n"
    "sacctmgr show stats output at Thu Nov 26 09:20:20 2026 (1795684820)\n"
    "Data since                    Thu Nov 26 09:20:16 2026 (1795684816)\n"
    "All statistics are in microseconds\n"
    "*******************************************************************\n"
)
RPC_HEADS = (
    "\nRemote Procedure Call statistics by message type\n"
    "\nRemote Procedure Call statistics by user\n"
)
ROLLUP = "\nInternal DBD rollup last ran Thu Nov 26 09:00:00 2026 (1795683600)\n"
CYCLES = "\tLast cycle:   1\n\tMax cycle:    2\n\tTotal time:   3\n\tTotal cycles: 1\n"

BAD_STATS = [
    ("", "empty input"),
    ("\x00\x00", "binary data"),
    ("Slurmctld(primary) at ctl1 is UP\n", "expected a line of '*'"),
    (
        "*******************************************************\n"
        "sdiag output at Thu Nov 26 09:20:20 2026 (1795684820)\n",
        "expected 'sacctmgr show stats output at'",
    ),
    (HEADER.replace("Data since ", "Data from "), "expected 'Data since ... (EPOCH)'"),
    (HEADER, "but the output ends (truncated?)"),
    (HEADER + "\nRemote Procedure Call statistics by message type\n", "truncated"),
    (HEADER + ROLLUP + CYCLES + RPC_HEADS, "expected 'Mean cycle: N'"),
    (HEADER + ROLLUP + CYCLES.replace("Max", "Min") + RPC_HEADS, "expected 'Max cycle: N'"),
    (HEADER + "\nCluster 'x' rollup statistics\n" + RPC_HEADS, "cluster 'x'"),
    (HEADER + "\nSomething else\n" + RPC_HEADS, "expected a rollup block"),
    (
        HEADER + RPC_HEADS + "\tDBD_FINI                 ( 1401) count:3      ave_t",
        "expected 'NAME (ID) count:N",
    ),
    (HEADER + RPC_HEADS + RPC_HEADS, "expected 'NAME (ID)"),
    ('{"statistics": []}', 'no "statistics" object'),
    ('{"errors": [{"description": "Connection refused"}]}', 'no "statistics" object'),
    ('{"statistics": {"rollups": []}}', "time_start missing"),
    ('{"statistics": {"time_start": "x"}}', "time_start"),
    ('{"statistics": {"time_start": 1, "rollups": 3}}', "expected a list or object"),
    ('{"statistics": {"time_start": 1, "rollups": [{"type": "weekly"}]}}', "internal|user"),
    ('{"statistics": {"time_start": 1, "rollups": {"hourly": 5}}}', "rollups.hourly"),
    ('{"statistics": {"time_start": 1, "RPCs": [{"rpc": "X", "count": 1}]}}', "time"),
    ('{"statistics": {"time_start": 1, "users": [{"count": 1}]}}', "'user' name"),
    ('{"statistics": {"time_start": 1, "users": {}}}', "expected a list"),
]


@pytest.mark.parametrize(("text", "message"), BAD_STATS)
def test_bad_stats(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        sacctmgr_stats.parse(text)


def test_stats_error_names_the_line() -> None:
    with pytest.raises(ParseError) as info:
        sacctmgr_stats.parse(HEADER + ROLLUP + CYCLES + RPC_HEADS)
    assert info.value.line_no == 13
    assert info.value.line == "Remote Procedure Call statistics by message type"


# --- recorded from the Slurm 22.05 lab (tests/cluster/record_fixtures.py) -------------------


def test_lab_22_05_has_no_sacctmgr_ping() -> None:
    """Before 24.11 ``sacctmgr ping`` does not exist: stderr says so, stdout is empty."""
    path = FIXTURES / "sacctmgr-ping" / "22.05-healthy.txt"
    assert "invalid keyword: ping" in path.with_suffix(".stderr").read_text()
    assert _meta(path)["returncode"] == 1
    with pytest.raises(ParseError, match="empty input"):
        sacctmgr_ping.parse(_read(path))


@pytest.mark.parametrize(
    "situation",
    ["healthy", "backup-killed", "both-killed", "dbd-primary-killed", "scontrol-takeover"],
)
def test_lab_22_05_stats(situation: str) -> None:
    """slurmdbd answers whatever the controllers do; its own rollup has run at least once."""
    stats = sacctmgr_stats.parse(_read(FIXTURES / "sacctmgr-stats" / f"22.05-{situation}.txt"))
    assert 0 < stats.time_start <= stats.generated_at
    assert [r.type for r in stats.rollups] == ["internal"]
    assert stats.rollups[0].total_cycles >= 1 and stats.cluster_rollups == ()
    names = {r.message_type for r in stats.rpcs_by_message_type}
    assert {"DBD_FINI", "SLURM_PERSIST_INIT"} <= names
    assert all(r.type_id is not None and r.count > 0 for r in stats.rpcs_by_message_type)
    assert [(u.user, u.user_id) for u in stats.rpcs_by_user] == [("root", 0)]
    counts = [r.count for r in stats.rpcs_by_message_type]
    assert counts == sorted(counts, reverse=True)  # sacctmgr sorts by count


@pytest.mark.parametrize(
    ("situation", "stderr"),
    [
        ("both-dbd-killed", "failed to open persistent connection"),
        ("mariadb-down", "slurm_persist_conn_open"),
        ("munge-down", "Munge encode failed"),
        ("json-unsupported", "unrecognized option '--json'"),
    ],
)
def test_lab_22_05_stats_failures_print_nothing(situation: str, stderr: str) -> None:
    path = FIXTURES / "sacctmgr-stats" / f"22.05-{situation}.txt"
    assert stderr in path.with_suffix(".stderr").read_text()
    with pytest.raises(ParseError, match="empty input"):
        sacctmgr_stats.parse(_read(path))

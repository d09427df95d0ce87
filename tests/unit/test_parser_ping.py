"""``scontrol ping`` parser: every fixture against its golden, values, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parsers import parser_for
from monitor.parsers.ping import BANNER, Ping, mode_name, parse, parse_ping_line
from tests.support.fixtures import FIXTURES, assert_matches_golden, stdout_fixtures
from tests.support.fixtures import fixture_meta as _meta
from tests.support.fixtures import read_fixture as _read

KIND = "ping"
UP2 = "Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup) at ctl2 is UP\n"
BANNER_TEXT = "\n".join(BANNER) + "\n"


@pytest.mark.parametrize("fixture", stdout_fixtures(KIND), ids=lambda p: p.name)
def test_fixture_matches_golden(fixture: Path) -> None:
    assert_matches_golden(fixture, parse)


RECORDED = [p for p in stdout_fixtures(KIND) if _meta(p) is not None]


@pytest.mark.parametrize("fixture", RECORDED, ids=lambda p: p.name)
def test_recorded_fixture_agrees_with_its_run(fixture: Path) -> None:
    """A recording parses exactly when Slurm printed ping lines; rc 1 means none answered."""
    meta = _meta(fixture)
    text = _read(fixture)
    if not text.strip():
        with pytest.raises(ParseError, match="empty input"):
            parse(text)
        return
    report = parse(text)
    if report.form == "json":
        # `scontrol ping --json` exits 0 even when no controller answers (24.11, 26.05).
        assert meta.get("returncode") == 0
    elif meta.get("returncode") == 0:
        assert report.any_responding
    elif meta.get("returncode") == 1:
        assert not report.any_responding


def test_registry_gives_this_parser() -> None:
    assert parser_for(KIND) is parse


def test_two_controllers_up() -> None:
    report = parse(_read(FIXTURES / KIND / "20.11-both-up.txt"))
    assert report.pings == (Ping("ctl1", "primary", True), Ping("ctl2", "backup", True))
    assert report.form == "text" and not report.restore_banner and report.all_responding


def test_backup_down_as_root_flags_banner() -> None:
    report = parse(_read(FIXTURES / KIND / "20.11-backup-down-root.txt"))
    assert [(p.hostname, p.mode, p.responding) for p in report.pings] == [
        ("ctl1", "primary", True),
        ("ctl2", "backup", False),
    ]
    assert report.restore_banner and report.any_responding and not report.all_responding


def test_three_controllers_are_numbered() -> None:
    report = parse(_read(FIXTURES / KIND / "23.11-three-controllers-backup2-down.txt"))
    assert [p.mode for p in report.pings] == ["primary", "backup1", "backup2"]
    assert [p.responding for p in report.pings] == [True, True, False]
    assert not report.restore_banner


def test_pre_18_08_single_line() -> None:
    report = parse(_read(FIXTURES / KIND / "17.11-legacy-backup-down-root.txt"))
    assert report.pings == (Ping("ctl1", "primary", True), Ping("ctl2", "backup", False))
    assert report.restore_banner
    only = parse(_read(FIXTURES / KIND / "17.11-legacy-no-backup.txt"))
    assert only.pings == (Ping("ctl1", "primary", True),)


def test_json_v0_0_39() -> None:
    report = parse(_read(FIXTURES / KIND / "23.02-both-up.json"))
    assert report.form == "json"
    assert report.pings == (
        Ping("ctl1", "primary", True, 1702),
        Ping("ctl2", "backup", True, 1288),
    )
    assert report.data_parser == "data_parser/v0.0.39" and report.slurm_release == "23.02.7"


def test_json_v0_0_41_primary_down() -> None:
    report = parse(_read(FIXTURES / KIND / "24.05-primary-down.json"))
    assert [(p.hostname, p.responding, p.latency_us) for p in report.pings] == [
        ("ctl1", False, 2003412),
        ("ctl2", True, 1571),
    ]


def test_json_v0_0_42_responding_and_primary() -> None:
    report = parse(_read(FIXTURES / KIND / "24.11-both-up.json"))
    assert [p.to_dict() for p in report.pings] == [
        {"hostname": "ctl1", "mode": "primary", "responding": True},
        {"hostname": "ctl2", "mode": "backup", "responding": True},
    ]
    assert report.slurm_release == "24.11.1"


def test_json_v0_0_45_status() -> None:
    report = parse(_read(FIXTURES / KIND / "26.05-backup-down.json"))
    assert report.pings[0].status == "No error"
    assert report.pings[1] == Ping(
        "ctl2", "backup", False, 2001870, "Unable to contact slurm controller (connect failure)"
    )


def test_text_and_json_give_the_same_document() -> None:
    text = parse("Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup) at ctl2 is DOWN\n")
    doc = {
        "pings": [
            {"hostname": "ctl1", "pinged": "UP", "latency": 5, "mode": "primary"},
            {"hostname": "ctl2", "pinged": "DOWN", "latency": 9, "mode": "backup"},
        ]
    }
    assert parse(json.dumps(doc)).to_dict() == text.to_dict()


def test_json_without_mode_derives_slurm_names() -> None:
    """v0.0.45 may leave ``mode``/``pinged`` out: the mode comes from the position."""
    entries = [
        {"hostname": h, "responding": True, "latency": 1, "primary": i == 0, "status": "No error"}
        for i, h in enumerate(["a", "b", "c"])
    ]
    report = parse(json.dumps({"pings": entries}))
    assert [p.mode for p in report.pings] == ["primary", "backup1", "backup2"]
    two = parse(json.dumps({"pings": entries[:2]}))
    assert [p.mode for p in two.pings] == ["primary", "backup"]


def test_mode_name_rule() -> None:
    assert [mode_name("slurmctld", i, 1) for i in range(1)] == ["primary"]
    assert [mode_name("slurmctld", i, 2) for i in range(2)] == ["primary", "backup"]
    assert [mode_name("slurmctld", i, 4) for i in range(4)] == [
        "primary",
        "backup1",
        "backup2",
        "backup3",
    ]
    assert [mode_name("slurmdbd", i, 2) for i in range(2)] == ["primary", "backup"]


def test_single_line_parser() -> None:
    assert parse_ping_line("Slurmctld(backup3) at node-17.example.org is DOWN") == Ping(
        "node-17.example.org", "backup3", False
    )
    assert parse_ping_line("slurmdbd(primary) at dbd1 is UP", "slurmdbd") == Ping(
        "dbd1", "primary", True
    )
    assert parse_ping_line("Slurmctld(primary) at ctl1 is UP", "slurmdbd") is None
    assert parse_ping_line("Slurmctld(primary) at ctl1 is up") is None
    assert parse_ping_line("Slurmctld(primary) at ctl1 is UP extra") is None


def test_crlf_and_blank_lines_are_tolerated() -> None:
    report = parse(
        "\r\nSlurmctld(primary) at ctl1 is UP\r\n\r\nSlurmctld(backup) at ctl2 is UP\r\n"
    )
    assert [p.hostname for p in report.pings] == ["ctl1", "ctl2"]


BAD_TEXT = [
    ("", "empty input"),
    ("   \n\n", "empty input"),
    ("Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup) at ct", "line 2"),
    ("Slurmctld(primary) at ctl1 is U", "not scontrol ping output"),
    ("\x00\x01\x02garbage", "binary data"),
    ("\ufffd\ufffdPK", "not valid UTF-8"),
    (
        "*******************************************************\n"
        "sdiag output at Thu Nov 26 09:20:20 2026 (1795684820)\n",
        "not scontrol ping output",
    ),
    ("Configuration data as of 2026-11-26T09:20:20\n", "not scontrol ping output"),
    ("slurmdbd(primary) at dbd1 is UP\n", "not scontrol ping output"),
    # cut at a line boundary: two lines but the second is named for three or more
    ("Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup1) at ctl2 is UP\n", "Slurm names it"),
    # two runs glued together
    (UP2 + UP2, "Slurm names it"),
    ("Slurmctld(backup) at ctl2 is UP\n", "Slurm names it"),
    # pre-18.08 and current lines mixed
    ("Slurmctld(primary/backup) at a/b are UP/UP\n" + UP2, "mixed"),
    (UP2 + "Slurmctld(primary/backup) at a/b are UP/UP\n", "mixed"),
    ("Slurmctld(primary/backup) are DOWN/DOWN\n", "no controller"),
    (BANNER_TEXT, "banner before any ping line"),
    (UP2 + BANNER_TEXT, "every instance is UP"),
    ("Slurmctld(primary) at ctl1 is DOWN\n" + BANNER[0] + "\n" + BANNER[1] + "\n", "cut short"),
    ("Slurmctld(primary) at ctl1 is DOWN\n" + BANNER_TEXT + BANNER_TEXT, "twice"),
    (
        "Slurmctld(primary) at ctl1 is DOWN\n" + BANNER_TEXT + "Slurmctld(backup) at c is UP\n",
        "after the RESTORE banner",
    ),
    (UP2 + "slurm_ping: Unable to contact slurm controller\n", "unexpected line"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TEXT)
def test_bad_text_is_a_parse_error(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(text)


def test_parse_error_names_the_line() -> None:
    with pytest.raises(ParseError) as info:
        parse("Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup) at ct")
    assert info.value.line_no == 2 and info.value.line == "Slurmctld(backup) at ct"


def _entry(**fields: object) -> dict:
    return {"hostname": "ctl1", "pinged": "UP", "latency": 1, "mode": "primary", **fields}


BAD_JSON = [
    ('{"pings": [', "malformed JSON"),
    ("[1, 2]", "not scontrol ping output"),
    ('{"meta": {}}', 'no "pings"'),
    (
        json.dumps({"errors": [{"description": "Unable to contact slurm controller"}]}),
        "Unable to contact slurm controller",
    ),
    ('{"pings": {}}', "expected a list"),
    ('{"pings": []}', "empty"),
    ('{"pings": ["ctl1"]}', "expected an object"),
    (json.dumps({"pings": [_entry(hostname="")]}), "no hostname"),
    (json.dumps({"pings": [_entry(pinged="MAYBE")]}), "expected UP or DOWN"),
    (json.dumps({"pings": [{"hostname": "a", "mode": "primary"}]}), "neither"),
    (json.dumps({"pings": [_entry(responding=False)]}), "contradicts"),
    (json.dumps({"pings": [_entry(responding="yes")]}), "expected true or false"),
    (json.dumps({"pings": [_entry(mode="backup")]}), "Slurm names position 0"),
    (json.dumps({"pings": [_entry(primary=False)]}), "primary=False"),
    (json.dumps({"pings": [_entry(latency="fast")]}), "latency"),
    (json.dumps({"pings": [_entry(status=7)]}), "status"),
]


@pytest.mark.parametrize(("text", "message"), BAD_JSON)
def test_bad_json_is_a_parse_error(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(text)


# --- recorded from the Slurm 22.05 lab (tests/cluster/record_fixtures.py) -------------------
LAB = FIXTURES / KIND


@pytest.mark.parametrize(
    ("situation", "states", "banner"),
    [
        ("healthy", [True, True], False),
        ("after-failback", [True, True], False),
        ("backup-killed", [True, False], True),
        ("primary-killed-before-takeover", [False, True], True),
        ("primary-killed-after-takeover", [False, True], True),
        ("primary-unreachable", [False, True], True),  # alive but cut off: still DOWN
        ("primary-frozen", [False, True], True),
        ("both-killed", [False, False], True),
        ("munge-down", [False, False], True),  # the monitor is blind, not an outage
        ("dbd-primary-killed", [True, True], False),
        ("mariadb-down", [True, True], False),
    ],
)
def test_lab_22_05(situation: str, states: list[bool], banner: bool) -> None:
    path = LAB / f"22.05-{situation}.txt"
    report = parse(_read(path))
    assert [p.hostname for p in report.pings] == ["ctl1", "ctl2"]
    assert [p.mode for p in report.pings] == ["primary", "backup"]
    assert [p.responding for p in report.pings] == states
    assert report.restore_banner is banner  # recorded as root
    assert _meta(path)["returncode"] == (0 if any(states) else 1)


def test_lab_22_05_has_no_json_form() -> None:
    path = LAB / "22.05-json-unsupported.txt"
    assert "unrecognized option '--json'" in path.with_suffix(".stderr").read_text()
    with pytest.raises(ParseError, match="empty input"):
        parse(_read(path))

"""``scontrol show config`` parser: fixtures against goldens, typed accessors, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parsers import parser_for
from monitor.parsers.show_config import Controller, parse
from tests.support.fixtures import FIXTURES, assert_matches_golden, stdout_fixtures
from tests.support.fixtures import fixture_meta as _meta
from tests.support.fixtures import read_fixture as _read

KIND = "show-config"
HEAD = "Configuration data as of 2026-11-26T09:20:20\n"
MINIMAL = (
    HEAD + "BOOT_TIME               = 2026-11-26T09:02:13\n"
    "SlurmctldHost[0]        = ctl1\n"
    "SLURM_VERSION           = 22.05.8\n"
)
PINGS = "\nSlurmctld(primary) at ctl1 is UP\n"


@pytest.mark.parametrize("fixture", stdout_fixtures(KIND), ids=lambda p: p.name)
def test_fixture_matches_golden(fixture: Path) -> None:
    assert_matches_golden(fixture, parse)


RECORDED = [p for p in stdout_fixtures(KIND) if _meta(p) is not None]


@pytest.mark.parametrize("fixture", RECORDED, ids=lambda p: p.name)
def test_recorded_fixture_agrees_with_its_run(fixture: Path) -> None:
    """Slurm prints the configuration only when it loaded it; then the ping lines follow."""
    meta = _meta(fixture)
    text = _read(fixture)
    if not text.strip():
        assert meta["returncode"] != 0
        with pytest.raises(ParseError, match="empty input"):
            parse(text)
        return
    if text.lstrip().startswith("{"):  # the --json form (26.05) is not parsed, by design
        # (24.11 ignores --json here and prints the text form: 24.11-*-json.json)
        with pytest.raises(ParseError, match="only the text form"):
            parse(text)
        return
    config = parse(text)
    assert config.version.startswith(fixture.name.split("-")[0] + ".")  # 22.05-healthy.txt
    assert config.controllers and config.pings is not None
    assert [p.hostname for p in config.pings.pings] == [c.hostname for c in config.controllers]
    assert config.cluster_name and config.slurmctld_timeout and config.message_timeout


def test_registry_gives_this_parser() -> None:
    assert parser_for(KIND) is parse


def test_20_11_ha() -> None:
    config = parse(_read(FIXTURES / KIND / "20.11-ha-both-up.txt"))
    assert config.generated_at == "2026-11-26T09:20:20"
    assert config.boot_time == "2026-11-26T08:58:41" and config.version == "20.11.9"
    assert config.controllers == (
        Controller("ctl1", "10.0.0.11"),
        Controller("ctl2", "10.0.0.12"),
    )
    assert config.cluster_name == "prod"
    assert config.accounting_storage_host == "dbd1"
    assert config.accounting_storage_backup_host == "dbd2"
    assert config.accounting_storage_port == 6819
    assert config.slurmctld_port == 6817 and config.slurmctld_port_count == 1
    assert config.slurmctld_timeout == 120 and config.message_timeout == 10
    assert config.auth_info is None and config.munge_socket is None
    # values keep blanks, commas, '=' and parentheses exactly
    assert config.settings["SchedulerParameters"] == (
        "bf_interval=30,bf_max_job_test=500,default_queue_depth=100"
    )
    assert config.settings["SlurmUser"] == "slurm(64030)"
    assert config.settings["TaskPluginParam"] == "(null type)"
    assert config.settings["VSizeFactor"] == "0 percent"
    assert config.settings["AccountingStorageBackupHost"] == "dbd2"  # key longer than 23
    assert [s.title for s in config.sections] == ["Cgroup Support Configuration"]
    assert ("ConstrainCores", "yes") in config.sections[0].items
    assert "ConstrainCores" not in config.settings
    assert [(p.mode, p.responding) for p in config.pings.pings] == [
        ("primary", True),
        ("backup", True),
    ]
    doc = config.to_dict()
    assert list(doc) == ["settings", "controllers", "boot_time", "version", "sections", "pings"]
    assert doc["controllers"][0] == {"hostname": "ctl1", "address": "10.0.0.11"}
    assert config.line_numbers["ClusterName"] == 25


def test_23_11_three_controllers_socket_and_port_range() -> None:
    config = parse(_read(FIXTURES / KIND / "23.11-three-controllers-primary-down-root.txt"))
    assert config.version == "23.11.10" and config.boot_time == "2026-11-26T09:02:13"
    assert config.controllers == (
        Controller("ctl1", "10.0.0.11"),
        Controller("ctl2", "ctl2"),  # no "(addr)": Slurm's address is the host name
        Controller("ctl3", "10.0.0.13"),
    )
    assert config.auth_info == "cred_expire=30,socket=/run/munge-lab/munge.socket.2"
    assert config.munge_socket == "/run/munge-lab/munge.socket.2"
    assert config.slurmctld_port == 6817 and config.slurmctld_port_count == 4
    assert config.slurmctld_timeout == 6
    assert [s.title for s in config.sections] == [
        "Cgroup Support Configuration",
        "MPI Plugins Configuration",
    ]
    assert config.pings.restore_banner
    assert [(p.hostname, p.mode, p.responding) for p in config.pings.pings] == [
        ("ctl1", "primary", False),
        ("ctl2", "backup1", True),
        ("ctl3", "backup2", True),
    ]


def test_24_11_node_features_keep_repeated_keys() -> None:
    config = parse(_read(FIXTURES / KIND / "24.11-node-features.txt"))
    features = config.sections[1]
    assert features.title == "Node Features Configuration"
    assert features.plugin == "node_features/helpers"
    assert [k for k, _ in features.items].count("Feature") == 2
    assert features.items[0] == ("Feature", "nps1 Helper=/usr/local/bin/nps")
    assert config.settings["NodeFeaturesPlugins"] == "node_features/helpers"
    assert config.to_dict()["sections"][1]["settings"][2] == {
        "key": "MutuallyExclusive",
        "value": "nps1,nps4",
    }


def test_minimal_without_pings() -> None:
    config = parse(MINIMAL)
    assert config.pings is None and "pings" not in config.to_dict()
    assert config.sections == () and "sections" not in config.to_dict()
    assert config.cluster_name is None and config.slurmctld_port is None


def test_empty_value_and_select_title_without_newline() -> None:
    """``Select Plugin Configuration`` is printed with no colon and no newline after it."""
    text = (
        MINIMAL
        + "Empty                   =\nSelect Plugin ConfigurationOther                   = x\n"
    )
    config = parse(text + PINGS)
    assert config.settings["Empty"] == ""
    assert config.sections[0].title == "Select Plugin Configuration"
    assert config.sections[0].items == (("Other", "x"),)


def _bad(key: str, value: str) -> str:
    return MINIMAL + f"{key:<23s} = {value}\n" + PINGS


BAD = [
    ("", "empty input"),
    ("\x00binary", "binary data"),
    ('{"pings": []}', "only the text form"),
    ("Slurmctld(primary) at ctl1 is UP\n", "expected 'Configuration data as of"),
    (
        "*******************************************************\nsdiag output at x\n",
        "not scontrol show config output",
    ),
    (HEAD + "BOOT_TIME               = 2026-11-26T09:02:13\nSlurmctld", "KEY = VALUE"),
    (HEAD + "SlurmctldHost[0]        = ctl1\n", "no BOOT_TIME"),
    (HEAD + "BOOT_TIME               = x\nSlurmctldHost[0]        = ctl1\n", "no SLURM_VERSION"),
    (MINIMAL + MINIMAL, "second 'Configuration data' header"),
    (MINIMAL + "SLURM_VERSION           = 23.02.1\n", "printed twice"),
    (MINIMAL + "key with blanks = 1\n", "KEY = VALUE"),
    (MINIMAL + "----- node_features/helpers -----\n", "outside a section"),
    (_bad("SlurmctldTimeout", "six sec"), "SlurmctldTimeout: expected 'N sec'"),
    (_bad("MessageTimeout", "10"), "MessageTimeout: expected 'N sec'"),
    (_bad("AccountingStoragePort", "68a19"), "AccountingStoragePort: expected a whole number"),
    (_bad("SlurmctldPort", "6820-6817"), "ends below"),
    (_bad("SlurmctldPort", "abc"), "expected 'PORT' or 'LOW-HIGH'"),
    (_bad("SlurmctldHost[1]", "ctl2(10.0.0.2"), "expected 'host' or 'host(address)'"),
    (_bad("SlurmctldHost[2]", "ctl3"), "not 0..n-1"),
    (MINIMAL + "\nSlurmctld(primary) at ctl1 is UP\nAuthType = auth/munge\n", "unexpected line"),
    (MINIMAL + "\nSlurmctld(backup) at ctl1 is UP\n", "Slurm names it"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_input_is_a_parse_error(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(text)


def test_error_names_the_offending_line() -> None:
    with pytest.raises(ParseError) as info:
        parse(_bad("SlurmctldTimeout", "six sec"))
    assert info.value.line_no == 5
    assert info.value.line == "SlurmctldTimeout = six sec"


# --- recorded from the Slurm 22.05 lab (tests/cluster/record_fixtures.py) -------------------
LAB = FIXTURES / KIND


@pytest.mark.parametrize(
    ("situation", "backup_up"),
    [("healthy", True), ("backup-killed", False), ("primary-killed-after-takeover", True)],
)
def test_lab_22_05(situation: str, backup_up: bool) -> None:
    config = parse(_read(LAB / f"22.05-{situation}.txt"))
    assert config.version == "22.05.8" and config.cluster_name == "lab"
    assert [c.hostname for c in config.controllers] == ["ctl1", "ctl2"]
    assert all(c.address.count(".") == 3 for c in config.controllers)  # printed as host(addr)
    assert config.accounting_storage_host == "dbd1"
    assert config.accounting_storage_backup_host == "dbd2"
    assert config.accounting_storage_port == 6819 and config.slurmctld_port == 6817
    assert config.slurmctld_timeout == 6 and config.message_timeout == 10
    # the lab runs munge on its own socket: AuthInfo names it
    assert config.auth_info == f"socket={config.munge_socket}"
    assert config.munge_socket.endswith("/munge.socket")
    assert config.settings["AccountingStorageType"] == "accounting_storage/slurmdbd"
    assert config.boot_time == config.settings["BOOT_TIME"]
    assert config.sections == ()
    assert [p.responding for p in config.pings.pings] == [
        situation != "primary-killed-after-takeover",
        backup_up,
    ]


def test_lab_22_05_takeover_changes_boot_time() -> None:
    before = parse(_read(LAB / "22.05-healthy.txt"))
    after = parse(_read(LAB / "22.05-primary-killed-after-takeover.txt"))
    assert before.boot_time != after.boot_time  # BOOT_TIME is the serving controller's


@pytest.mark.parametrize(
    ("situation", "stderr"),
    [
        ("both-killed", "Unable to contact slurm controller"),
        ("primary-unreachable", "backup controller in standby mode"),
        ("primary-frozen", "Socket timed out"),
        ("munge-down", "Munge encode failed"),
        ("json-unsupported", "unrecognized option '--json'"),
    ],
)
def test_lab_22_05_failures_print_nothing(situation: str, stderr: str) -> None:
    path = LAB / f"22.05-{situation}.txt"
    assert stderr in path.with_suffix(".stderr").read_text()
    with pytest.raises(ParseError, match="empty input"):
        parse(_read(path))

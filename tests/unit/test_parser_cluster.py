"""``sacctmgr show cluster`` parser: goldens, both parsable forms, JSON, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parsers import parser_for
from monitor.parsers.cluster import ClusterRecord, parse
from tests.support.fixtures import FIXTURES, assert_matches_golden, stdout_fixtures
from tests.support.fixtures import fixture_meta as _meta
from tests.support.fixtures import read_fixture as _read

KIND = "cluster"


@pytest.mark.parametrize("fixture", stdout_fixtures(KIND), ids=lambda p: p.name)
def test_fixture_matches_golden(fixture: Path) -> None:
    assert_matches_golden(fixture, parse)


RECORDED = [p for p in stdout_fixtures(KIND) if _meta(p) is not None]
# The protocol version slurmctld registers with (SLURM_xx_yy_PROTOCOL_VERSION): 38 << 8
# for 22.05, 42 << 8 for 24.11, 45 << 8 for 26.05, as the lab's recordings show.
RPC_VERSION = {"22.05": 9728, "24.11": 10752, "26.05": 11520}


@pytest.mark.parametrize("fixture", RECORDED, ids=lambda p: p.name)
def test_recorded_fixture_agrees_with_its_run(fixture: Path) -> None:
    meta = _meta(fixture)
    text = _read(fixture)
    if not text.strip():
        with pytest.raises(ParseError, match="empty input"):
            parse(text)
        return
    assert meta["returncode"] == 0
    clusters = parse(text)
    rpc = RPC_VERSION[fixture.name.split("-")[0]]  # 24.11-healthy-json.json -> 24.11
    assert all(c.rpc_version in (None, 0, rpc) for c in clusters.clusters)


def test_registry_gives_this_parser() -> None:
    assert parser_for(KIND) is parse


def test_registered_cluster() -> None:
    clusters = parse(_read(FIXTURES / KIND / "20.11-registered.txt"))
    assert clusters.clusters == (ClusterRecord("prod", "10.0.0.11", 6817, 9216),)
    assert clusters.get("prod").registered and clusters.get("lab") is None


def test_unregistered_cluster_has_empty_host_and_port_0() -> None:
    clusters = parse(_read(FIXTURES / KIND / "23.02-one-unregistered.txt"))
    lab, prod = clusters.clusters
    assert lab == ClusterRecord("lab", "", 0, 0) and not lab.registered
    assert prod == ClusterRecord("prod", "10.0.0.12", 6817, 9984)


def test_trailing_bar_without_rpc_column() -> None:
    clusters = parse(_read(FIXTURES / KIND / "24.11-parsable-trailing-no-rpc.txt"))
    assert clusters.clusters == (ClusterRecord("prod", "10.0.0.11", 6817, None),)
    assert clusters.to_dict() == {
        "clusters": [{"name": "prod", "control_host": "10.0.0.11", "control_port": 6817}]
    }


def test_every_parsable_form_reads_the_same() -> None:
    expected = ClusterRecord("prod", "10.0.0.11", 6817, 9728)
    for text in (
        "prod|10.0.0.11|6817|9728\n",
        "prod|10.0.0.11|6817|9728|\n",
        "Cluster|ControlHost|ControlPort|RPC\nprod|10.0.0.11|6817|9728\n",
        "Cluster|ControlHost|ControlPort|RPC|\nprod|10.0.0.11|6817|9728|\r\n",
    ):
        assert parse(text).clusters == (expected,), text
    assert parse("lab||0|\n").clusters == (ClusterRecord("lab", "", 0, None),)


def test_json_forms() -> None:
    old = parse(_read(FIXTURES / KIND / "23.02-two-clusters.json"))
    assert old.form == "json" and old.data_parser == "data_parser/v0.0.39"
    assert old.clusters == (
        ClusterRecord("lab", "", 0, 0),
        ClusterRecord("prod", "10.0.0.12", 6817, 9984),
    )
    assert old.to_dict() == parse(_read(FIXTURES / KIND / "23.02-one-unregistered.txt")).to_dict()
    new = parse(_read(FIXTURES / KIND / "25.05-registered.json"))
    assert new.clusters == (ClusterRecord("prod", "10.0.0.11", 6817, 11008),)
    assert new.slurm_release == "25.05.2"


def test_json_port_in_no_val_form_and_empty_list() -> None:
    doc = {
        "clusters": [
            {
                "name": "prod",
                "controller": {
                    "host": "h",
                    "port": {"set": True, "infinite": False, "number": 6817},
                },
            }
        ]
    }
    assert parse(json.dumps(doc)).clusters == (ClusterRecord("prod", "h", 6817, None),)
    assert parse('{"clusters": []}').clusters == ()


BAD = [
    ("", "empty input"),
    ("\x00\xff", "binary data"),
    ("prod 10.0.0.11 6817 9728\n", "got 1 field(s)"),
    ("prod|10.0.0.11\n", "got 2 field(s)"),
    ("prod|10.0.0.11|6817|9728|x|\n", "got 5 field(s)"),
    ("prod|10.0", "got 2 field(s)"),  # cut mid-line
    ("prod|10.0.0.11|port|9728\n", "ControlPort 'port' is not a number"),
    ("prod|10.0.0.11|6817|rpc\n", "RPC 'rpc' is not a number"),
    ("|10.0.0.11|6817|9728\n", "bad cluster name"),
    ("prod|10.0.0.11 x|6817|9728\n", "bad ControlHost"),
    ("prod|10.0.0.11|6817|9728\nlab||0\n", "3 fields where earlier lines had 4"),
    ("Cluster|ControlHost|ControlPort|RPC\n", "no cluster lines"),
    ("Slurmctld(primary) at ctl1 is UP\n", "got 1 field(s)"),
    ("sacctmgr: error: Problem talking to the database: Connection refused\n", "got 1 field"),
    ('{"clusters": {}}', "expected a list"),
    ('{"meta": {}}', 'no "clusters" list'),
    ('{"clusters": [{"name": "p"}]}', "no controller object"),
    ('{"clusters": [{"controller": {"port": 1}}]}', "no name"),
    ('{"clusters": [{"name": "p", "controller": {"host": "h"}}]}', "controller.port missing"),
    ('{"clusters": [{"name": "p", "controller": {"host": 1, "port": 1}}]}', "controller.host"),
    ('{"clusters": [{"name": "p", "controller": {"port": 1.5}}]}', "whole number"),
    ('{"clusters": [{"name": "p", "controller": {"port": 1}, "rpc_version": "x"}]}', "rpc_version"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_input_is_a_parse_error(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(text)


def test_error_names_the_line() -> None:
    with pytest.raises(ParseError) as info:
        parse("prod|10.0.0.11|6817|9728\nlab|x|zero|0\n")
    assert info.value.line_no == 2 and info.value.line == "lab|x|zero|0"


# --- recorded from the Slurm 22.05 lab (tests/cluster/record_fixtures.py) -------------------
LAB = FIXTURES / KIND


def _ctl_addresses() -> dict[str, str]:
    config = parser_for("show-config")(_read(FIXTURES / "show-config" / "22.05-healthy.txt"))
    return {c.hostname: c.address for c in config.controllers}


@pytest.mark.parametrize(
    ("situation", "controller"),
    [
        ("healthy", "ctl1"),
        ("backup-killed", "ctl1"),
        ("primary-unreachable", "ctl1"),  # split-brain protection: no takeover
        ("primary-frozen", "ctl1"),
        ("primary-killed-after-takeover", "ctl2"),
        ("scontrol-takeover", "ctl2"),
        ("after-failback", "ctl1"),
        ("dbd-primary-killed", "ctl1"),
        # the dead primary deregistered and no controller has registered (yet)
        ("primary-killed-before-takeover", None),
        ("both-killed", None),
    ],
)
def test_lab_22_05(situation: str, controller: str | None) -> None:
    (record,) = parse(_read(LAB / f"22.05-{situation}.txt")).clusters
    assert record.name == "lab" and record.rpc_version == 9728  # 22.05 = 38 << 8
    if controller is None:
        assert (record.control_host, record.control_port, record.registered) == ("", 0, False)
    else:
        assert record.control_host == _ctl_addresses()[controller]
        assert record.control_port == 6817 and record.registered


@pytest.mark.parametrize("situation", ["both-dbd-killed", "mariadb-down", "munge-down"])
def test_lab_22_05_dbd_failures_print_nothing(situation: str) -> None:
    with pytest.raises(ParseError, match="empty input"):
        parse(_read(LAB / f"22.05-{situation}.txt"))

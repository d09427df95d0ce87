"""What the monitor learns of a cluster's shape, from `scontrol show config` or slurm.conf:
ping's budget follows MessageTimeout from either source."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.parsers.show_config import parse as parse_show_config
from monitor.parsers.slurm_conf import parse as parse_slurm_conf
from monitor.topology import topology_from

SHOW_CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "show-config"


@pytest.mark.parametrize("release", ["22.05", "24.11", "26.05"])
def test_show_config_gives_ping_message_timeout_per_controller_plus_five(release: str) -> None:
    text = (SHOW_CONFIG / f"{release}-healthy.txt").read_text()
    topology = topology_from(parse_show_config(text))
    assert [role for _, role in topology.controllers] == ["primary", "backup"]
    assert topology.message_timeout == 10 and topology.ping_seconds() == 25.0


@pytest.mark.parametrize(
    "line,timeout",
    [("MessageTimeout=7", 7), ("messagetimeout = 30", 30), ("MessageTimeout=0", None), ("", None)],
)
def test_slurm_conf_gives_it_too_when_set_and_positive(line: str, timeout: int | None) -> None:
    conf = parse_slurm_conf(f"ClusterName=c\nSlurmctldHost=a\nSlurmctldHost=b\n{line}\n")
    topology = topology_from(conf)
    assert topology.message_timeout == timeout
    assert topology.ping_seconds() == (timeout * 2 + 5.0 if timeout else None)

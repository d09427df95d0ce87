"""An argument naming what the configuration lacks is "could not run" (4), never a verdict:
`probe`'s 1 means degraded and `test-alert`'s 1 means a delivery failed."""

from __future__ import annotations

import pytest

from monitor.cli import main

CONFIG = """
[monitor]
state_dir = "{state}"
[[clusters]]
name = "prod"
slurm_bin = "/nonexistent"
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(state=tmp_path / "state"))
    return path


def test_probe_of_an_unknown_cluster_could_not_run(config, capsys):
    assert main(["probe", "--config", str(config), "--cluster", "nope"]) == 4
    assert capsys.readouterr().err == f"slurm-sla: no cluster named 'nope' in {config}\n"


def test_test_alert_to_an_unknown_or_missing_receiver_could_not_run(config, capsys):
    assert main(["test-alert", "--config", str(config), "--receiver", "nope"]) == 4
    assert capsys.readouterr().err == f"slurm-sla: no receiver named 'nope' in {config}\n"
    assert main(["test-alert", "--config", str(config)]) == 4
    assert "no [[receivers]] configured" in capsys.readouterr().err


def test_a_demo_too_short_to_show_anything_could_not_run(capsys):
    assert main(["demo", "--duration", "5"]) == 4
    assert "--duration must be at least 20 seconds" in capsys.readouterr().err

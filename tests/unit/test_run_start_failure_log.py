"""`run` that cannot start says why in the log's own format: in JSON mode one JSON line
(daemon.start_failed), not a plain line among the JSON ones; on a terminal the plain line."""

from __future__ import annotations

import json

import pytest

from monitor.cli import main


@pytest.fixture
def blocked(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("not a directory")

    def config(log_format: str):
        path = tmp_path / f"{log_format}.toml"
        path.write_text(
            f'[monitor]\nstate_dir = "{blocker}"\nlog_format = "{log_format}"\n'
            '[[clusters]]\nname = "a"\nslurm_bin = "/nonexistent"\n'
        )
        return path

    return blocker, config


def test_json_mode_says_it_in_one_json_line(blocked, capsys):
    blocker, config = blocked
    assert main(["run", "--config", str(config("json"))]) == 4
    lines = capsys.readouterr().err.splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    (failed,) = [r for r in records if r["event"] == "daemon.start_failed"]
    assert failed["error"] == f"state_dir {blocker} is a file, not a directory"
    assert failed["level"] == "error"


def test_console_mode_says_it_in_one_plain_line(blocked, capsys):
    blocker, config = blocked
    assert main(["run", "--config", str(config("console"))]) == 4
    err = capsys.readouterr().err
    assert err.endswith(f"slurm-sla: state_dir {blocker} is a file, not a directory\n")

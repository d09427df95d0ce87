"""Real Slurm clients (no cluster needed) with a broken setup on the monitor's side.

With no slurm.conf, scontrol, sdiag and sacctmgr 22.05 print `cannot stat file ...` and
then retry for 60 s; `slurm-sla probe` must answer with that cause, as command_failed
(the monitor cannot see), not as a timeout after `command_timeout_seconds`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.reasons import Reason
from monitor.runner import run_command

pytestmark = pytest.mark.integration

SCONTROL = shutil.which("scontrol")
needs_slurm = pytest.mark.skipif(SCONTROL is None, reason="needs Slurm's client commands")


@needs_slurm
def test_scontrol_without_its_configuration_names_the_file(tmp_path):
    missing = tmp_path / "slurm.conf"
    result = run_command([SCONTROL, "ping"], timeout=30, env={"SLURM_CONF": str(missing)})
    assert result.reason is Reason.COMMAND_FAILED
    assert str(missing) in result.message
    assert "does not exist" in result.message


@needs_slurm
def test_probe_reports_the_cause_not_a_timeout(tmp_path):
    missing = tmp_path / "slurm.conf"
    config = tmp_path / "config.toml"
    config.write_text(
        "[monitor]\n"
        "command_timeout_seconds = 20\n"
        f'state_dir = "{tmp_path / "state"}"\n'
        "[[clusters]]\n"
        'name = "prod"\n'
        f'slurm_conf = "{missing}"\n'
        f'slurm_bin = "{Path(SCONTROL).parent}"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "probe", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr  # could not probe: blind, not down
    (cluster,) = json.loads(done.stdout)["clusters"]
    assert cluster["services"]["slurmctld"]["state"] == "unknown"
    errors = {e["probe"]: e for e in cluster["errors"]}
    assert errors["ping"]["reason"] == "command_failed"
    for error in errors.values():
        assert error["reason"] != "timeout"
        assert f"{missing}: No such file or directory" in error["message"]

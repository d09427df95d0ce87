"""`systemd-analyze verify` passes on the shipped units."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.debian import ensure_packages

pytestmark = pytest.mark.integration

UNITS = Path(__file__).resolve().parents[2] / "systemd"


@pytest.mark.parametrize("unit", sorted(p.name for p in UNITS.glob("*.service")) +
                         sorted(p.name for p in UNITS.glob("*.timer")))
def test_unit_verifies(unit, tmp_path):
    ensure_packages("systemd", binary="systemd-analyze")
    slurm_sla = shutil.which("slurm-sla")
    if slurm_sla is None:
        pytest.skip("slurm-sla is not installed (pip install -e .)")
    # The unit names the installed path; verify it against where this checkout installed it.
    for source in UNITS.iterdir():
        if source.suffix in (".service", ".timer"):
            text = source.read_text().replace("/usr/local/bin/slurm-sla", slurm_sla)
            (tmp_path / source.name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if unit in line]
    assert not problems, result.stderr


def test_service_is_hardened():
    text = (UNITS / "slurm-sla-monitor.service").read_text()
    for setting in ("Type=notify", "WatchdogSec=", "ProtectSystem=strict", "ProtectHome=yes",
                    "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                    "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
                    "StateDirectory=slurm-sla-monitor", "User=slurm-sla"):
        assert setting in text, setting

"""`systemd-analyze verify` passes on the shipped units, as shipped, for the layouts README.md
documents: the virtual environment in /opt/slurm-sla-monitor, and an install elsewhere
pointed at by the README's drop-ins.

verify insists that every Exec*= program exists, so each layout is built in a private
mount namespace (tmpfs over /opt or /usr/local/bin, with a link to the slurm-sla this
checkout installed): nothing on the machine changes. Needs root and unshare(1).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests.support.debian import ensure_packages
from tests.support.readme import code_blocks, section

pytestmark = pytest.mark.integration

UNITS = Path(__file__).resolve().parents[2] / "systemd"
UNIT_FILES = sorted(p.name for p in UNITS.glob("*.service")) + sorted(
    p.name for p in UNITS.glob("*.timer")
)
# Runs in the new mount namespace: $1 an existing directory to cover with a tmpfs, $2 the
# directory that holds slurm-sla in the layout, $3 the installed slurm-sla, then the units.
IN_NAMESPACE = """set -e
mount -t tmpfs tmpfs "$1"
mkdir -p "$2"
ln -s "$3" "$2/slurm-sla"
shift 3
exec systemd-analyze verify "$@"
"""


def installed_slurm_sla() -> Path:
    """The console script next to the Python running the tests (a venv's is not on PATH
    unless the venv is activated)."""
    path = Path(sysconfig.get_path("scripts")) / "slurm-sla"
    if not path.exists():
        pytest.skip(f"slurm-sla is not installed at {path} (pip install -e .)")
    return path


def verify_in_layout(bin_dir: str, units: list[Path]) -> subprocess.CompletedProcess[str]:
    ensure_packages("systemd", binary="systemd-analyze")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    cover = Path(bin_dir)
    while not cover.is_dir():
        cover = cover.parent
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", IN_NAMESPACE,
         "sh", str(cover), bin_dir, str(installed_slurm_sla()), *map(str, units)],
        capture_output=True, text=True, timeout=120)


def assert_verified(result: subprocess.CompletedProcess[str], unit: str) -> None:
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if unit in line]
    assert not problems, result.stderr


@pytest.mark.parametrize("unit", UNIT_FILES)
def test_unit_verifies_in_the_documented_venv(unit, tmp_path):
    for name in UNIT_FILES:  # the timer names its service: verify sees both
        shutil.copy(UNITS / name, tmp_path / name)
    result = verify_in_layout("/opt/slurm-sla-monitor/bin", [tmp_path / unit])
    assert_verified(result, unit)


def test_units_fail_verify_without_the_documented_venv(tmp_path):
    """The check above can fail: the same units in a layout where the venv is missing."""
    shutil.copy(UNITS / "slurm-sla-monitor.service", tmp_path)
    result = verify_in_layout("/opt/elsewhere/bin", [tmp_path / "slurm-sla-monitor.service"])
    assert result.returncode != 0
    assert "/opt/slurm-sla-monitor/bin/slurm-sla" in result.stderr, result.stderr


def readme_drop_ins() -> dict[str, str]:
    """The README's drop-ins, by unit, from "systemctl edit UNIT:" followed by an ini block."""
    text = section("Running under systemd")
    units = re.findall(r"`systemctl edit (\S+)`:\s*\n\s*```ini", text)
    blocks = code_blocks(text, "ini")
    assert len(units) == len(blocks) == 2, (units, blocks)
    return dict(zip(units, blocks, strict=True))


@pytest.mark.parametrize("unit", ["slurm-sla-monitor.service", "slurm-sla-report.service"])
def test_unit_verifies_with_the_readme_drop_in_for_another_install(unit, tmp_path):
    drop_in = readme_drop_ins()[unit]
    paths = set(re.findall(r"^ExecStart(?:Pre)?=(\S+)", drop_in, re.M))
    assert len(paths) == 1, drop_in
    program = Path(paths.pop())
    for name in UNIT_FILES:
        shutil.copy(UNITS / name, tmp_path / name)
    (tmp_path / f"{unit}.d").mkdir()
    (tmp_path / f"{unit}.d" / "override.conf").write_text(drop_in)
    # No /opt/slurm-sla-monitor in this layout: the drop-in must replace every Exec line.
    result = verify_in_layout(str(program.parent), [tmp_path / unit])
    assert_verified(result, unit)
    assert program.name == "slurm-sla"


def test_service_is_hardened():
    text = (UNITS / "slurm-sla-monitor.service").read_text()
    for setting in ("Type=notify", "WatchdogSec=", "ProtectSystem=strict", "ProtectHome=yes",
                    "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                    "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
                    "StateDirectory=slurm-sla-monitor", "User=slurm-sla"):
        assert setting in text, setting

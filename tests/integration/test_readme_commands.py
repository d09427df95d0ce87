"""The README's first command, as written, on Debian 12's own python3: `pip install`
outside a virtual environment is refused there (PEP 668), so the command must not need it.

It runs in a copy of the checkout with /usr/bin first on PATH (so `python3` is Debian's,
not a pyenv or venv one), to the end of the demo: installed, the daemon run, alerts
delivered, the report written, and nothing left in TMPDIR.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.debian import ensure_packages, is_debian_root
from tests.support.readme import two_commands

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")
DEMO_PORT = 9817  # the demo's default listen port, which the command does not change
NOT_COPIED = (".git", ".venv", "__pycache__", "*.egg-info", "build", "slurm-sla-demo-reports")


def debian_python() -> Path:
    why = is_debian_root()
    if why:
        pytest.skip(f"needs Debian's python3: {why}")
    ensure_packages("python3", binary=str(DEBIAN_PYTHON))
    ensure_packages("python3-venv")  # "stock Debian 12" lacks it; the README says to add it
    return DEBIAN_PYTHON


def externally_managed(python: Path) -> Path:
    """The PEP 668 marker that makes pip refuse to install outside a venv."""
    stdlib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    return Path(stdlib) / "EXTERNALLY-MANAGED"


def test_the_first_readme_command_works_with_debians_python(tmp_path):
    python = debian_python()
    assert externally_managed(python).exists(), "not a PEP 668 Python: the test proves nothing"
    command, _ = two_commands()
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", DEMO_PORT))
        except OSError:
            pytest.fail(f"port {DEMO_PORT}, the demo's default, is taken by another process")
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO, checkout, ignore=shutil.ignore_patterns(*NOT_COPIED))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        **os.environ,
        "PATH": f"{python.parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        "TMPDIR": str(scratch),
    }
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    result = subprocess.run(["/bin/sh", "-c", command], cwd=checkout, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "externally-managed-environment" not in result.stderr
    assert "SIMULATION: " in result.stdout, result.stdout[-3000:]
    out = result.stdout[result.stdout.index("SIMULATION: "):]  # after pip's output
    assert f"metrics:  http://127.0.0.1:{DEMO_PORT}/metrics" in out
    assert "ALERT FIRING   SlurmctldDown" in out and "ALERT RESOLVED SlurmctldDown" in out
    assert "SIMULATION finished:" in out
    reports = checkout / "slurm-sla-demo-reports"
    assert any(reports.glob("*.html")) and any(reports.glob("*.md")), out[-2000:]
    assert list(scratch.iterdir()) == [], "the demo left its scratch directory behind"
    venv_python = checkout / ".venv" / "bin" / "python"
    base = subprocess.run([str(venv_python), "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    assert base.strip() == "/usr", f"the venv is not Debian's python3's: {base}"

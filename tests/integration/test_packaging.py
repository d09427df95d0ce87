"""In a fresh venv, `pip install .` then `slurm-sla parse` works on every fixture, and the
simulator's recordings ship in the package (so `slurm-sla demo` runs from an install)."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from monitor.parsers import KINDS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(root)
    # Build from a copy of the checkout so the test never writes into the work tree (not its
    # .venv: the README's commands make one there).
    src = tmp_path_factory.mktemp("src")
    subprocess.run([sys.executable, "-c", (
        "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2], dirs_exist_ok=True, "
        "ignore=shutil.ignore_patterns('.git', '.venv', '__pycache__', '*.egg-info', 'build', "
        "'slurm-sla-demo-reports'))"),
        str(REPO), str(src)], check=True)
    result = subprocess.run([str(root / "bin" / "pip"), "install", "-q", str(src)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return root / "bin" / "slurm-sla"


def fixtures() -> list[tuple[str, Path]]:
    out = []
    # only parser inputs: other fixture sets (tests/fixtures/openslo) are not a KIND
    for kind_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name in KINDS):
        for path in sorted(kind_dir.iterdir()):
            if path.suffix in (".txt", ".json") and not path.name.endswith(
                    (".parsed.json", ".meta.json")):
                out.append((kind_dir.name, path))
    return out


def test_parse_every_fixture_from_an_installed_package(installed):
    checked = 0
    for kind, path in fixtures():
        result = subprocess.run([str(installed), "parse", kind, str(path)],
                                capture_output=True, text=True, timeout=60)
        golden = Path(str(path) + ".parsed.json")
        if golden.exists():
            assert result.returncode == 0, (path, result.stderr)
            assert json.loads(result.stdout) == json.loads(golden.read_text()), path
        else:  # a recording of a failed command: no document, a one-line reason
            assert result.returncode == 1, path
            assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        checked += 1
    assert checked > 100


def test_bad_input_is_exit_1_with_a_reason(installed, tmp_path):
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00\xff\xfe binary")
    for kind in ("ping", "sdiag", "show-config", "sacctmgr-stats", "cluster"):
        result = subprocess.run([str(installed), "parse", kind, str(garbage)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert str(garbage) in result.stderr


def test_recordings_ship_with_the_package(installed):
    code = ("from monitor.simulator.cluster import recordings_dir; "
            "print(sum(1 for _ in recordings_dir().rglob('*.txt')))")
    python = installed.parent / "python"
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                            timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 40

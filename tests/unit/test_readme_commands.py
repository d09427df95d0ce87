"""What README.md tells a new user to type agrees with what CI and the units run (the
commands themselves run in tests/integration/test_readme_commands.py and
tests/integration/test_systemd_units.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.support.readme import code_blocks, section, two_commands

REPO = Path(__file__).resolve().parents[2]


def test_ci_runs_exactly_the_readme_test_command():
    _, tests = two_commands()
    lines = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line]
    assert lines[-1] == tests


def test_the_two_commands_install_into_a_venv_never_the_system_python():
    for command in two_commands():
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install ")
        assert "python3 -m pip" not in command


def test_the_readme_names_the_python_the_package_requires():
    required = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert required == ">=3.11"
    assert "Python ≥ 3.11" in section("Two commands")
    assert "Python ≥ 3.11" in section("Install and configure")


def test_the_units_run_the_venv_the_install_steps_make():
    install = "\n".join(code_blocks(section("Install and configure"), "sh"))
    venv = re.search(r"^python3 -m venv (\S+)$", install, re.M).group(1)
    assert f"{venv}/bin/pip install ." in install
    for unit in ("slurm-sla-monitor.service", "slurm-sla-report.service"):
        text = (REPO / "systemd" / unit).read_text()
        execs = re.findall(r"^ExecStart(?:Pre)?=(\S+)", text, re.M)
        assert execs and set(execs) == {f"{venv}/bin/slurm-sla"}, (unit, execs)


def test_the_unit_install_steps_name_every_shipped_unit_file():
    steps = "\n".join(code_blocks(section("Running under systemd"), "sh"))
    for path in sorted((REPO / "systemd").iterdir()):
        assert f"systemd/{path.name}" in steps, path.name

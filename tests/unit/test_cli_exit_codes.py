""" "Could not run" is exit 4 for every command, never a verdict's code (probe: 0 up,
1 degraded, 2 down, 3 could not probe; check-config: 1 invalid; parse: 1 unparseable):
bad arguments, a configuration missing, unreadable or invalid, an input file that cannot be
read, a state store that cannot be opened. Each says what is wrong on one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.cli_args import COULD_NOT_RUN

GOOD = '[[clusters]]\nname = "a"\n'


def _window() -> list[str]:
    """--start/--end of a window a day ahead of now: a fixed date went into the past (and
    `maintenance add` then needs --retroactive) the day it was reached."""
    import datetime as dt

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    return ["--start", f"{start:%Y-%m-%dT%H:%MZ}",
            "--end", f"{start + dt.timedelta(hours=1):%Y-%m-%dT%H:%MZ}"]  # fmt: skip


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["probe"],
        ["run"],
        ["test-alert"],
        ["report", "--month", "2026-10"],
        ["maintenance", "list"],
        ["maintenance", "add", *_window()],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_missing_config_is_could_not_run(capsys, tmp_path, argv):
    code, out, err = run(capsys, *argv, "--config", str(tmp_path / "nope.toml"))
    assert (code, out) == (COULD_NOT_RUN, "")
    assert err == f"{tmp_path}/nope.toml: file not found\n"


def test_probe_with_an_invalid_config_is_not_degraded(capsys, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[monitor]\ninterval_seconds = nan\n" + GOOD)
    code, _, err = run(capsys, "probe", "--config", str(path))
    assert code == COULD_NOT_RUN
    assert err == f"{path}:2: monitor.interval_seconds: must be a finite number, got nan\n"


def test_the_default_config_path_says_what_to_do(capsys, monkeypatch, tmp_path):
    import monitor.config

    if monitor.config.DEFAULT_CONFIG_PATH.exists():
        pytest.skip("this machine has a configuration at the default path")
    code, _, err = run(capsys, "probe")
    assert code == COULD_NOT_RUN
    assert err == (
        "/etc/slurm-sla-monitor/config.toml: file not found (the default: install one "
        "there, or name yours with --config FILE)\n"
    )


def test_check_config_invalid_is_1_and_unreadable_is_4(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[monitor]\ninterval_seconds = 0\n" + GOOD)
    assert run(capsys, "check-config", str(bad))[0] == 1
    assert run(capsys, "check-config", str(tmp_path / "nope.toml"))[0] == COULD_NOT_RUN
    code, _, err = run(capsys, "check-config", str(tmp_path))
    assert code == COULD_NOT_RUN
    assert err == f"{tmp_path}: is a directory, not a configuration file\n"
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    code, _, err = run(capsys, "check-config", str(binary))
    assert (code, err) == (COULD_NOT_RUN, f"{binary}: cannot read: not UTF-8 text (byte 0)\n")


def test_parse_unreadable_is_4_and_unparseable_is_1(capsys, tmp_path):
    code, _, err = run(capsys, "parse", "ping", str(tmp_path / "nope"))
    assert code == COULD_NOT_RUN
    assert err == f"slurm-sla parse: {tmp_path}/nope: cannot read: No such file or directory\n"
    garbage = tmp_path / "garbage"
    garbage.write_text("hello\n")
    assert run(capsys, "parse", "ping", str(garbage))[0] == 1


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["probe", "--no-such-option"],
        ["parse", "no-such-kind"],
        ["report", "--format", "docx"],
        ["maintenance"],
        ["maintenance", "remove", "not-a-number"],
    ],
    ids=lambda a: " ".join(a) or "(none)",
)
def test_usage_errors_are_could_not_run_not_probes_down(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == COULD_NOT_RUN and out == ""
    assert err.startswith("usage: ")


def test_help_and_version_are_0(capsys):
    assert run(capsys, "--version")[0] == 0
    assert run(capsys, "probe", "--help")[0] == 0


def test_state_dir_that_is_a_file(capsys, tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("not a directory")
    path = tmp_path / "c.toml"
    path.write_text(f'[monitor]\nstate_dir = "{blocker}"\n{GOOD}')
    code, _, err = run(capsys, "maintenance", "remove", "1", "--config", str(path))
    assert (code, err) == (
        COULD_NOT_RUN,
        f"slurm-sla: state_dir {blocker} is a file, not a directory\n",
    )
    path.write_text(f'[monitor]\nstate_dir = "{blocker}/below"\n{GOOD}')
    code, _, err = run(capsys, "report", "--month", "2026-10", "--config", str(path))
    assert (code, err) == (
        COULD_NOT_RUN,
        f"slurm-sla: state_dir {blocker}/below: {blocker} is a file, not a directory\n",
    )


def _read_only_state(tmp_path: Path, monkeypatch) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the check see what a user would
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode, **kw: False if Path(p) == state else real(p, mode, **kw)
        )
    else:
        state.chmod(0o555)
    return state


def test_a_read_only_state_dir_says_not_writable(capsys, tmp_path, monkeypatch):
    state = _read_only_state(tmp_path, monkeypatch)
    path = tmp_path / "c.toml"
    path.write_text(f'[monitor]\nstate_dir = "{state}"\n{GOOD}')
    code, _, err = run(
        capsys, "maintenance", "add", "--config", str(path), *_window(),
    )  # fmt: skip
    assert code == COULD_NOT_RUN
    assert err == (
        f"slurm-sla: state_dir {state} is not writable by uid {os.geteuid()} "
        "(give it to the user the monitor runs as)\n"
    )


def test_from_a_shell_the_codes_are_the_same(tmp_path):
    """The console script and ``python -m monitor`` exit with main()'s code."""
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "probe", "--config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (4, f"{tmp_path}/nope.toml: file not found\n")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "probe", "--bogus"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 4 and "Traceback" not in result.stderr

"""The command runner, with real processes: classification, timeouts, bounds."""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path

import pytest

from monitor.reasons import Reason
from monitor.runner import classify, run_command


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


# The stderr texts real Slurm 22.05 prints in each failure (../shared/SLURM-LAB.md).
SLURM_ERRORS = [
    (
        "slurm_get_statistics: Unable to contact slurm controller (connect failure)",
        255,
        Reason.UNREACHABLE,
    ),
    ("slurm_get_statistics: Slurm backup controller in standby mode", 255, Reason.STANDBY),
    ("sacctmgr: error: Sending PersistInit msg: Connection refused", 1, Reason.UNREACHABLE),
    ("sacctmgr: error: Unable to connect to database", 1, Reason.DATABASE),
    (
        'scontrol: error: Munge encode failed: Failed to access "/run/munge/munge.socket.2"',
        1,
        Reason.AUTH,
    ),
    ("slurm_ping error: Protocol authentication error", 1, Reason.AUTH),
    (
        "sdiag: error: slurm_get_statistics: Socket timed out on send/recv operation",
        255,
        Reason.TIMEOUT,
    ),
    ("something nobody has seen before", 3, Reason.COMMAND_FAILED),
]


@pytest.mark.parametrize(("stderr", "rc", "reason"), SLURM_ERRORS)
def test_real_process_failures_are_classified(tmp_path, stderr, rc, reason):
    cmd = _script(tmp_path, "fake", f"echo '{stderr}' >&2\nexit {rc}\n")
    result = run_command([cmd], timeout=5)
    assert result.returncode == rc
    assert result.reason is reason
    assert stderr.split(":")[0] in result.stderr
    assert result.message  # says what went wrong


def test_success_ignores_warnings_on_stderr(tmp_path):
    cmd = _script(tmp_path, "fake", "echo out; echo 'warning: connect failure earlier' >&2\n")
    result = run_command([cmd], timeout=5)
    assert result.ok and result.reason is None and result.stdout == "out\n"


def test_timeout_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "grandchild.pid"
    cmd = _script(tmp_path, "hang", f"sleep 60 & echo $! > {marker}\nsleep 60\n")
    t0 = time.monotonic()
    result = run_command([cmd], timeout=0.5)
    elapsed = time.monotonic() - t0
    assert result.reason is Reason.TIMEOUT
    assert result.returncode is None
    assert elapsed < 3
    assert "0.5 s" in result.message
    grandchild = int(marker.read_text())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild survived the timeout")


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie awaiting its (re)parent's reaping."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_missing_binary(tmp_path):
    result = run_command([str(tmp_path / "no-such-scontrol"), "ping"], timeout=5)
    assert result.reason is Reason.MISSING_BINARY
    assert "no-such-scontrol" in result.message


def test_not_executable_counts_as_missing(tmp_path):
    path = tmp_path / "scontrol"
    path.write_text("#!/bin/sh\n")
    result = run_command([str(path)], timeout=5)
    assert result.reason is Reason.MISSING_BINARY


def test_environment_has_lc_all_c_and_extras(tmp_path):
    cmd = _script(tmp_path, "env", 'echo "$LC_ALL $SLURM_CONF"\n')
    result = run_command([cmd], timeout=5, env={"SLURM_CONF": "/x/slurm.conf", "LC_ALL": "de"})
    assert result.stdout == "C /x/slurm.conf\n"


def test_output_is_bounded(tmp_path):
    result = run_command(
        [sys.executable, "-c", "print('x' * 3_000_000)"], timeout=10, max_output_bytes=1000
    )
    assert result.truncated
    assert len(result.stdout) == 1000
    assert result.returncode == 0


def test_stdin_is_fed(tmp_path):
    result = run_command(["cat"], timeout=5, stdin=b"credential")
    assert result.stdout == "credential"


def test_no_shell_is_involved(tmp_path):
    result = run_command(["echo", "$HOME; rm -rf /"], timeout=5)
    assert result.stdout == "$HOME; rm -rf /\n"


def test_timeout_must_be_given_and_positive():
    with pytest.raises(TypeError):
        run_command(["true"])  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        run_command(["true"], timeout=0)


def test_classify_zero_is_success_whatever_stderr_says():
    assert classify(0, "authentication error") is None
    assert classify(1, "Munge decode failed") is Reason.AUTH


# What real scontrol 22.05 prints before it retries (for 60 s) or dies, recorded with
# `SLURM_CONF=... scontrol ping` on Debian 12; the fake then hangs as scontrol would.
SLURM_CAUSES = [
    (
        "scontrol: error: s_p_parse_file: cannot stat file /etc/slurm/slurm.conf: "
        "No such file or directory, retrying in 1sec up to 60sec",
        "does not exist (/etc/slurm/slurm.conf: No such file or directory)",
    ),
    (
        'scontrol: error: s_p_parse_file: unable to read "/etc/slurm/slurm.conf": '
        "Permission denied",
        'not readable by the monitor\'s user ("/etc/slurm/slurm.conf": Permission denied)',
    ),
    (
        "scontrol: fatal: Could not establish a configuration source",
        "no slurm.conf, and no configless DNS SRV record",
    ),
    (
        "scontrol: error: get_addr_info: getaddrinfo() failed: Name or service not known: "
        "No such file or directory, attempt number -4",
        "does not resolve on the monitor's host (Name or service not known)",
    ),
    (
        'scontrol: error: slurm_set_addr: Unable to resolve "ctl2.example"',
        'does not resolve on the monitor\'s host (Unable to resolve "ctl2.example")',
    ),
]


@pytest.mark.parametrize(("stderr", "says"), SLURM_CAUSES)
def test_a_slurm_error_naming_its_cause_stops_the_command_at_once(tmp_path, stderr, says):
    cmd = _script(tmp_path, "scontrol", f"echo '{stderr}' >&2\nsleep 60\n")
    result = run_command([cmd, "ping"], timeout=30)
    # Not a timeout: the cause is the answer, long before the 30 s deadline.
    assert result.reason is Reason.COMMAND_FAILED
    assert result.returncode is None
    assert result.message.startswith("scontrol ping: ")
    assert says in result.message
    assert "retrying" not in result.message


def test_a_cause_split_across_writes_is_still_seen(tmp_path):
    cmd = _script(
        tmp_path,
        "scontrol",
        "printf 'scontrol: error: s_p_parse_file: cannot st' >&2\nsleep 0.2\n"
        "printf 'at file /x/slurm.conf: No such file or directory\\n' >&2\nsleep 60\n",
    )
    result = run_command([cmd, "ping"], timeout=30)
    assert result.reason is Reason.COMMAND_FAILED
    assert "/x/slurm.conf" in result.message


def test_a_cause_after_a_normal_exit_keeps_the_exit_status(tmp_path):
    # A short-lived command printing a cause is stopped or finishes: either way the
    # verdict is command_failed with the cause, never a timeout.
    cmd = _script(
        tmp_path,
        "scontrol",
        "echo 'scontrol: fatal: Could not establish a configuration source' >&2\nexit 1\n",
    )
    result = run_command([cmd, "ping"], timeout=30)
    assert result.reason is Reason.COMMAND_FAILED
    assert "configuration source" in result.message


def test_other_errors_do_not_stop_the_command(tmp_path):
    cmd = _script(
        tmp_path,
        "scontrol",
        "echo 'scontrol: error: cannot find file of the day' >&2\nsleep 0.3\necho answer\n",
    )
    result = run_command([cmd, "ping"], timeout=30)
    assert result.ok and result.stdout == "answer\n"


def test_a_timeout_says_what_the_command_said_last(tmp_path):
    cmd = _script(
        tmp_path,
        "sdiag",
        "echo 'sdiag: error: first' >&2\necho 'sdiag: error: last words' >&2\nsleep 60\n",
    )
    result = run_command([cmd], timeout=0.5)
    assert result.reason is Reason.TIMEOUT
    assert result.message == (
        "sdiag did not finish within 0.5 s (last on stderr: sdiag: error: last words)"
    )


def test_a_service_stops_when_its_starter_is_killed(tmp_path):
    """The HA demo's replicas and Alertmanagers: a demo SIGKILLed (no cleanup runs) must not
    leave them running. The starter here is a real process that is SIGKILLed."""
    import os
    import signal
    import subprocess

    pid_file = tmp_path / "child.pid"
    starter = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from monitor.runner import start_child\n"
        f"c = start_child(['sleep', '300'], name='sleep', log={str(tmp_path / 'log')!r})\n"
        f"open({str(pid_file)!r}, 'w').write(str(c.pid))\n"
        "time.sleep(300)\n"
    )], cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline, "the starter never started its child"
            assert starter.poll() is None, "the starter exited"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        os.kill(child, 0)  # running
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child}").exists() and "Z" not in _state(child):
            assert time.monotonic() < deadline, "the child outlived its SIGKILLed starter"
            time.sleep(0.05)
    finally:
        starter.kill()
        starter.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"

"""Commands cannot leave processes behind: not by setsid, not by double-forking.

Each test's fake command writes the pid of everything it starts to a file; afterwards none
of those pids may exist at all, as a live process or as a zombie: this test process is the
subreaper (run_command made it one), so an unreaped victim would stay a zombie here.
"""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from monitor import process_tree
from monitor.reasons import Reason
from monitor.runner import run_command


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _pids(path: Path, expected: int) -> list[int]:
    """The pids the fake wrote, waiting until it has written them all."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = [int(p) for p in path.read_text().split()] if path.exists() else []
        if len(pids) >= expected:
            return pids
        time.sleep(0.02)
    pytest.fail(f"the fake command wrote {path.read_text() if path.exists() else 'nothing'}")


def _exists(pid: int) -> bool:
    """In the process table at all: running, stopped, or a zombie nobody reaped."""
    return psutil.pid_exists(pid)


def _assert_all_gone(pids: list[int]) -> None:
    # Killing and reaping is synchronous in the runner; the grace only absorbs a busy
    # machine's delay in delivering SIGKILL. A zombie would stay forever, so it still fails.
    deadline = time.monotonic() + 5
    while any(_exists(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = {p: psutil.Process(p).status() for p in pids if _exists(p)}
    assert not left, f"survivors (pid: status): {left}"


@pytest.fixture(autouse=True)
def _subreaper():
    if not process_tree.enable_subreaper():
        pytest.skip("prctl(PR_SET_CHILD_SUBREAPER) is not available here")


def test_setsid_grandchild_dies_with_the_hung_command(tmp_path):
    pids = tmp_path / "pids"
    cmd = _script(
        tmp_path,
        f"echo $$ >> {pids}\n"
        # A new session and process group: killpg(command) no longer reaches it.
        f"setsid sh -c 'echo $$ >> {pids}; sleep 60; :' >/dev/null 2>&1 </dev/null &\n"
        "sleep 60\n",
    )
    result = run_command([cmd], timeout=1)
    assert result.reason is Reason.TIMEOUT
    tree = _pids(pids, 2)
    _assert_all_gone(tree)


def test_double_forked_orphan_dies_with_the_hung_command(tmp_path):
    pids = tmp_path / "pids"
    cmd = _script(
        tmp_path,
        # The intermediate shell exits at once: its setsid child is re-parented (to us, the
        # subreaper) and no longer descends from the command at all.
        f'sh -c \'setsid sh -c "echo \\$\\$ >> {pids}; sleep 60; :" >/dev/null 2>&1 '
        "</dev/null &'\n"
        f"while [ ! -s {pids} ]; do sleep 0.02; done\n"
        "sleep 60\n",
    )
    result = run_command([cmd], timeout=1.5)
    assert result.reason is Reason.TIMEOUT
    _assert_all_gone(_pids(pids, 1))


def test_a_daemon_left_by_a_finished_command_is_swept(tmp_path):
    pids = tmp_path / "pids"
    cmd = _script(
        tmp_path,
        f"setsid sh -c 'echo $$ >> {pids}; sleep 60; :' >/dev/null 2>&1 </dev/null &\n"
        f"while [ ! -s {pids} ]; do sleep 0.02; done\n"
        "echo done\n",
    )
    result = run_command([cmd], timeout=10)
    assert result.ok and result.stdout == "done\n"
    _assert_all_gone(_pids(pids, 1))


def test_other_children_of_this_process_are_left_alone(tmp_path):
    # A process someone else started here (not through the runner) must keep running and
    # keep its own exit status: the cleanup never waits on -1 and never kills unmarked pids.
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        cmd = _script(tmp_path, "sh -c 'setsid sleep 60 >/dev/null 2>&1 </dev/null &'\nsleep 60\n")
        result = run_command([cmd], timeout=0.5)
        assert result.reason is Reason.TIMEOUT
        assert bystander.poll() is None
    finally:
        bystander.kill()
    assert bystander.wait(timeout=5) == -9


def test_a_command_running_in_another_thread_is_not_touched(tmp_path):
    import threading

    slow = _script(tmp_path, "sleep 1.5\necho slow-done\n")
    got: dict[str, object] = {}
    worker = threading.Thread(target=lambda: got.update(r=run_command([slow], timeout=20)))
    worker.start()
    hung = tmp_path / "hung"
    hung.write_text("#!/bin/sh\nsetsid sleep 60 >/dev/null 2>&1 </dev/null &\nsleep 60\n")
    hung.chmod(0o755)
    assert run_command([str(hung)], timeout=0.5).reason is Reason.TIMEOUT
    worker.join(timeout=20)
    slow_result = got["r"]
    assert slow_result.ok and slow_result.returncode == 0 and slow_result.stdout == "slow-done\n"


def test_a_zombie_left_by_the_hung_command_is_reaped(tmp_path):
    pids = tmp_path / "pids"
    # The command never reaps its child, which has exited: a zombie that becomes ours
    # (the subreaper's) once the command is killed, and must not stay one.
    program = (
        "import os, sys, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setsid(); os._exit(0)\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{pid}}')\n"
        "time.sleep(60)\n"
    )
    cmd = _script(tmp_path, f'exec {sys.executable} -c "$1"\n')
    result = run_command([cmd, program], timeout=2)
    assert result.reason is Reason.TIMEOUT
    _assert_all_gone(_pids(pids, 2))

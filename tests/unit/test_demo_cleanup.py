"""`slurm-sla demo` removes its scratch directory however it ends, and SIGTERM unwinds
like Ctrl-C so that it can (the end-to-end runs are in tests/integration/test_demo.py)."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import pytest

from monitor import demo


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch) -> Path:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def test_scratch_dir_is_removed_on_success(tmpdir_env):
    with demo._scratch_dir() as work:
        assert work.parent == tmpdir_env and work.name.startswith("slurm-sla-demo-")
        (work / "state").mkdir()
        (work / "state" / "monitor.db").write_text("x")
    assert list(tmpdir_env.iterdir()) == []


def test_scratch_dir_is_removed_on_failure(tmpdir_env):
    with pytest.raises(RuntimeError), demo._scratch_dir() as work:
        (work / "daemon.log").write_text("x")
        raise RuntimeError("the daemon could not start")
    assert list(tmpdir_env.iterdir()) == []


def test_sigterm_unwinds_like_ctrl_c_and_the_handler_is_restored(tmpdir_env):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), demo._terminate_as_interrupt(), demo._scratch_dir():
        os.kill(os.getpid(), signal.SIGTERM)
    assert list(tmpdir_env.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_unwritable_report_directory_fails_before_the_demo_starts(tmp_path, tmpdir_env):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(NotADirectoryError):
        demo.run_demo(20, "127.0.0.1:0", blocked / "reports")
    assert list(tmpdir_env.iterdir()) == []  # nothing was started


def test_reports_default_to_the_current_directory(tmp_path, tmpdir_env, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / demo.DEFAULT_REPORTS.name).write_text("a file where the directory goes")
    with pytest.raises(FileExistsError):
        demo.run_demo(20, "127.0.0.1:0", None)

"""`slurm-sla run` holds a SIGHUP that arrives while it starts (imports, config, store) as a
pending reload, instead of dying of SIGHUP's default action (exit 129), and the running
service applies it."""

from __future__ import annotations

import os
import signal

import pytest

import monitor.cli
from monitor import heldreload, launch


@pytest.fixture
def restore_sighup():
    old = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, old)
    heldreload.forget()


def test_a_sighup_during_start_is_held_not_fatal(monkeypatch, restore_sighup):
    def starting(argv):  # the heavy part of start-up, hit by logrotate's SIGHUP
        os.kill(os.getpid(), signal.SIGHUP)
        return 0

    monkeypatch.setattr(monitor.cli, "main", starting)
    assert launch.main(["run", "--config", "x.toml"]) == 0
    assert launch.reload_requested()


def test_other_commands_keep_the_default_sighup(monkeypatch, restore_sighup):
    monkeypatch.setattr(monitor.cli, "main", lambda argv: 0)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    launch.main(["probe", "--config", "x.toml"])
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL

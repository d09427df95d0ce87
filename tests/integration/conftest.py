"""Fixtures of the integration tests that run the real daemon on the simulated cluster."""

from __future__ import annotations

import pytest

from monitor.simulator.cluster import SimulatedCluster
from tests.support.simulated_daemon import NotifyListener


@pytest.fixture
def sim(tmp_path):
    """The simulated cluster, healthy, its stand-in commands installed under tmp_path."""
    cluster = SimulatedCluster(tmp_path / "sim")
    cluster.install()
    cluster.set_situation("healthy")
    yield cluster
    cluster.close()


@pytest.fixture
def notify(tmp_path):
    """A stand-in for systemd's notify socket (the daemon's NOTIFY_SOCKET)."""
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()

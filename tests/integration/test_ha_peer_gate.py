"""The peer-view gate through the real daemon (issue 17), on loopback: two `slurm-sla run`
replicas in HA mode, each on its own simulated cluster (replica a's shows both controllers
dead, as a replica cut off from the cluster sees it; b's is healthy), posting to a
recording stand-in for the Alertmanagers. a withholds SlurmctldDown while b's fresh view
sees slurmctld up and raises SlurmMonitorBlind naming the partition; once b is SIGKILLed
its view grows stale and a pages SlurmctldDown alone. The real-cluster version, with two
lab hosts and a real Alertmanager pair, is test_ha_cluster.py."""

from __future__ import annotations

import json

import pytest

from monitor.ha.view import parse_view
from monitor.observation import State
from monitor.simulator.cluster import SimulatedCluster
from tests.support.daemon import DaemonProcess, free_port
from tests.support.receiver import Recorder
from tests.support.simulated_daemon import write_config

pytestmark = pytest.mark.integration


def posted(recorder: Recorder) -> list[tuple[str, str]]:
    """(alertname, summary) of every alert posted to the Alertmanagers, in order."""
    return [
        (alert["labels"]["alertname"], alert["annotations"]["summary"])
        for r in recorder.on("/api/v2/alerts")
        for alert in json.loads(r["body"])
    ]


def sees_up(d: DaemonProcess, service: str) -> bool:
    """The replica's /ha/view says ``service`` is up."""
    cluster = parse_view(d.get("/ha/view")[1].encode()).clusters.get("sim")
    return cluster is not None and cluster.services.get(service) is State.UP


def test_a_replica_that_sees_down_pages_only_once_no_fresh_peer_sees_up(tmp_path):
    recorder = Recorder()
    ports = {"a": free_port(), "b": free_port()}
    sims, daemons = {}, {}
    try:
        # b first: a replica whose peer has no verdict yet pages alone, by design
        for name, situation in (("b", "healthy"), ("a", "both-killed")):
            sim = sims[name] = SimulatedCluster(tmp_path / f"sim-{name}")
            sim.install()
            sim.set_situation(situation)
            other = next(n for n in ports if n != name)
            (tmp_path / name).mkdir()
            config = tmp_path / name / "config.toml"
            write_config(config, sim, ports[name], extra=(
                f'[ha]\nreplica = "{name}"\npeers = ["http://127.0.0.1:{ports[other]}"]\n'
                f'alertmanagers = ["http://127.0.0.1:{recorder.port}"]\n'
            ))  # fmt: skip
            daemons[name] = d = DaemonProcess(config, ports[name])
            if name == "b":
                d.wait_until("b's view: slurmctld up", lambda d=d: sees_up(d, "slurmctld"), 15)
        a, b = daemons["a"], daemons["b"]
        a.wait_until("a sees slurmctld down", lambda: a.value(
            "slurm_service_up", service="slurmctld") == 0.0, 20)  # fmt: skip
        a.wait_until("a raises its blindness", lambda: any(
            n == "SlurmMonitorBlind" for n, _ in posted(recorder)), 30)  # fmt: skip
        summaries = [s for n, s in posted(recorder) if n == "SlurmMonitorBlind"]
        assert any("replica a cannot reach the controllers; replica b sees slurmctld up" in s
                   for s in summaries), summaries  # fmt: skip
        assert "SlurmctldDown" not in {n for n, _ in posted(recorder)}
        assert a.value("slurm_sla_monitor_alert_withheld", alertname="SlurmctldDown") == 1.0
        assert a.value("slurm_sla_monitor_peer_view_age_seconds") is not None

        b.proc.kill()  # a dead peer: its last view ages, then contradicts nothing
        b.proc.wait(10)
        a.wait_until("a pages SlurmctldDown alone", lambda: "SlurmctldDown" in {
            n for n, _ in posted(recorder)}, 30)  # fmt: skip
        assert a.value("slurm_sla_monitor_alert_withheld", alertname="SlurmctldDown") is None
    finally:
        for d in daemons.values():
            d.stop()
        for sim in sims.values():
            sim.close()
        recorder.close()

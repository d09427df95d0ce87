"""The verdict's rules, one situation each, on parsed ping text and typed probe results."""

from __future__ import annotations

import dataclasses
import datetime as dt

from monitor.config import ClusterConfig, Thresholds
from monitor.observation import Condition, LocalProcess, Reason, State
from monitor.parsers import parser_for
from monitor.probes.base import ProbeResult
from monitor.topology import Topology
from monitor.verdict import ProbeRound, evaluate
from tests.support.fakes import recorded

T0 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
TOPOLOGY = Topology("lab", (("ctl1", "primary"), ("ctl2", "backup")),
                    (("primary", "dbd1", 6819), ("backup", "dbd2", 6819)), None, "slurm_conf")
CLUSTER = ClusterConfig("lab")


def ping(primary: str, backup: str, reason: Reason | None = None,
         duration: float = 0.02) -> ProbeResult:
    text = f"Slurmctld(primary) at ctl1 is {primary}\nSlurmctld(backup) at ctl2 is {backup}\n"
    return ProbeResult("ping", T0, duration, parser_for("ping")(text), reason)


def ok(name: str, data: object = True) -> ProbeResult:
    return ProbeResult(name, T0, 0.1, data, None)


def failed(name: str, reason: Reason) -> ProbeResult:
    return ProbeResult(name, T0, 0.1, None, reason, f"{name} failed")


def listen(primary: bool, backup: bool) -> ProbeResult:
    return ok("dbd_listen", {"primary": ("dbd1", primary, ""), "backup": ("dbd2", backup, "")})


def verdict(*results: ProbeResult, local=None, cluster=CLUSTER, thresholds=None):
    rnd = ProbeRound(cluster, T0, {r.probe: r for r in results}, TOPOLOGY, local or {},
                     "ctl1")
    return evaluate(rnd, thresholds or Thresholds())


def states(obs) -> dict[str, tuple[str, str | None]]:
    return {d.hostname: (d.state.value, d.reason.value if d.reason else None)
            for d in obs.daemons}


def test_healthy():
    obs = verdict(ping("UP", "UP"), ok("dbd_stats"), listen(True, False))
    assert states(obs) == {"ctl1": ("up", None), "ctl2": ("up", None),
                           "dbd1": ("up", None), "dbd2": ("unknown", "standby")}
    ctl = obs.services["slurmctld"]
    assert (ctl.state, ctl.condition, ctl.up, ctl.redundancy_ok) == (
        State.UP, Condition.OK, True, True)
    assert ctl.active.hostname == "ctl1"
    dbd = obs.services["slurmdbd"]
    assert dbd.up and dbd.active.hostname == "dbd1"
    assert dbd.redundancy_ok is None  # a standby slurmdbd cannot be verified
    assert not obs.blind


def test_failover_is_up_not_down():
    obs = verdict(ping("DOWN", "UP"), ok("sdiag", None), ok("dbd_stats"), listen(True, False))
    ctl = obs.services["slurmctld"]
    assert (ctl.state, ctl.condition, ctl.up, ctl.redundancy_ok) == (
        State.UP, Condition.FAILOVER, True, False)
    assert ctl.active.hostname == "ctl2" and ctl.active.role == "backup"
    assert states(obs)["ctl1"] == ("down", "unreachable")


def test_split_brain_protection_is_not_a_healthy_failover():
    obs = verdict(ping("DOWN", "UP"), failed("sdiag", Reason.STANDBY),
                  ok("dbd_stats"), listen(True, False))
    ctl = obs.services["slurmctld"]
    assert ctl.state is State.DOWN and ctl.condition is Condition.SPLIT_BRAIN_PROTECTION
    assert ctl.active is None and ctl.reason is Reason.STANDBY
    assert states(obs)["ctl2"] == ("up", "standby")


def test_both_controllers_down():
    obs = verdict(ping("DOWN", "DOWN", Reason.UNREACHABLE),
                  failed("sdiag", Reason.UNREACHABLE), ok("dbd_stats"),
                  listen(True, False))
    ctl = obs.services["slurmctld"]
    assert (ctl.state, ctl.condition, ctl.up) == (State.DOWN, Condition.NO_CONTROLLER, False)
    assert not obs.blind


def test_munge_down_is_blind_not_down():
    obs = verdict(ping("DOWN", "DOWN", Reason.AUTH),
                  failed("sdiag", Reason.AUTH), failed("dbd_stats", Reason.AUTH),
                  listen(True, False))
    assert obs.blind
    assert all(d.state is State.UNKNOWN for d in obs.daemons)
    assert {d.reason for d in obs.daemons} == {Reason.AUTH}
    assert obs.services["slurmctld"].state is State.UNKNOWN
    assert obs.services["slurmctld"].up is None
    assert obs.services["slurmdbd"].state is State.UNKNOWN


def test_missing_binary_is_blind():
    obs = verdict(failed("ping", Reason.MISSING_BINARY))
    assert obs.blind and obs.services["slurmctld"].condition is Condition.BLIND
    assert states(obs)["ctl1"] == ("unknown", "missing_binary")


def test_ping_timeout_is_unknown():
    obs = verdict(failed("ping", Reason.TIMEOUT))
    assert states(obs)["ctl2"] == ("unknown", "timeout")
    assert obs.services["slurmctld"].state is State.UNKNOWN


def test_slurmdbd_primary_down_backup_serving():
    obs = verdict(ping("UP", "UP"), ok("dbd_stats"), listen(False, True))
    assert states(obs)["dbd1"] == ("down", "unreachable")
    assert states(obs)["dbd2"] == ("up", None)
    dbd = obs.services["slurmdbd"]
    assert dbd.up and dbd.condition is Condition.FAILOVER and dbd.redundancy_ok is False


def test_both_slurmdbd_down():
    obs = verdict(ping("UP", "UP"), failed("dbd_stats", Reason.UNREACHABLE),
                  listen(False, False))
    dbd = obs.services["slurmdbd"]
    assert (dbd.state, dbd.condition, dbd.up) == (State.DOWN, Condition.DBD_UNREACHABLE, False)
    assert states(obs)["dbd1"] == ("down", "unreachable")
    assert states(obs)["dbd2"] == ("down", "unreachable")


def test_database_down():
    obs = verdict(ping("UP", "UP"), failed("dbd_stats", Reason.DATABASE),
                  listen(True, False))
    dbd = obs.services["slurmdbd"]
    assert (dbd.state, dbd.condition, dbd.reason) == (
        State.DOWN, Condition.DATABASE_UNREACHABLE, Reason.DATABASE)


def test_local_process_gone_is_down_and_standby_backup_verified_locally():
    cluster = ClusterConfig("lab", local_daemons=("slurmctld",))
    obs = verdict(ping("UP", "UP"), ok("dbd_stats"), listen(True, False), cluster=cluster,
                  local={"slurmctld": LocalProcess("slurmctld", False)})
    assert states(obs)["ctl1"] == ("down", "process_gone")
    rnd = ProbeRound(ClusterConfig("lab", local_daemons=("slurmdbd",)), T0,
                     {r.probe: r for r in (ping("UP", "UP"), ok("dbd_stats"),
                                           listen(True, False))},
                     TOPOLOGY, {"slurmdbd": LocalProcess("slurmdbd", True, pid=5)}, "dbd2")
    obs = evaluate(rnd, Thresholds())
    assert states(obs)["dbd2"] == ("up", None)
    assert obs.services["slurmdbd"].redundancy_ok is True


def test_slow_ping_and_overload_degrade_the_serving_controller():
    obs = verdict(ping("UP", "UP", duration=3.0), ok("dbd_stats"), listen(True, False))
    assert states(obs)["ctl1"] == ("degraded", "slow")
    assert obs.services["slurmctld"].state is State.DEGRADED


def _sdiag(**stats: int):
    """A real 22.05 sdiag, parsed, with some statistics changed."""
    return dataclasses.replace(parser_for("sdiag")(recorded("sdiag")), **stats)


def test_dbd_agent_backlog_degrades_slurmdbd():
    sdiag = ok("sdiag", _sdiag(server_thread_count=3, dbd_agent_queue_size=5000))
    obs = verdict(ping("UP", "UP"), sdiag, ok("dbd_stats"), listen(True, False))
    dbd = obs.services["slurmdbd"]
    assert dbd.state is State.DEGRADED and dbd.reason is Reason.BACKLOG


def test_server_threads_over_threshold_overload_the_serving_controller():
    sdiag = ok("sdiag", _sdiag(server_thread_count=80, agent_queue_size=0))
    obs = verdict(ping("UP", "UP"), sdiag, ok("dbd_stats"), listen(True, False))
    assert states(obs)["ctl1"] == ("degraded", "overloaded")
    assert states(obs)["ctl2"] == ("up", None)  # the standby is not the one overloaded


def test_slurmdbd_redundancy_is_unknown_until_its_instances_are_known():
    rnd = ProbeRound(CLUSTER, T0, {r.probe: r for r in (ping("UP", "UP"), ok("dbd_stats"))},
                     Topology("lab", TOPOLOGY.controllers), {}, "ctl1")
    dbd = evaluate(rnd, Thresholds()).services["slurmdbd"]
    assert dbd.up is True and dbd.redundancy_ok is None


def test_sacctmgr_ping_hides_a_standby_backup_whose_port_then_decides():
    """24.11+: `sacctmgr ping` lists the backup slurmdbd only while the primary does not
    answer (recorded on 24.11 and 26.05); the backup is then judged by its port."""
    dbd = parser_for("sacctmgr-ping")(recorded("sacctmgr-ping", "26.05-healthy"))
    assert [p.hostname for p in dbd.pings] == ["dbd1"]
    obs = verdict(ping("UP", "UP"), ok("dbd_ping", dbd), listen(True, False))
    assert states(obs)["dbd1"] == ("up", None)
    assert states(obs)["dbd2"] == ("unknown", "standby")
    without_port_check = verdict(ping("UP", "UP"), ok("dbd_ping", dbd))
    assert "dbd2" not in states(without_port_check)

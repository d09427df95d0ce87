"""The rules: which alerts one cluster's state (after hysteresis) and SLA figures call for,
with which labels, and what they hold while the state is unknowable."""

from __future__ import annotations

from dataclasses import replace

from monitor.alerting.rules import evaluate
from monitor.alerting.settings import AlertSettings, RuleSettings
from monitor.config import Thresholds
from monitor.snapshot import SlaFigures
from tests.support.alerting import DEGRADED, DOWN, T0, UP, status


def run(st, sla=(), settings=None, thresholds=None):
    return evaluate(st, sla, settings or AlertSettings(), thresholds or Thresholds(), T0)


def active(ev) -> dict[str, dict]:
    return {f"{c.alertname}/{c.instance}": dict(c.labels) for c in ev.active}


def test_healthy_cluster_has_no_alerts():
    ev = run(status())
    assert ev.active == () and ev.held == ()


def test_no_controller_fires_down_with_labels_and_backdated_start():
    ev = run(status(ctl1=DOWN, ctl2=DOWN, since=T0))
    got = active(ev)
    assert got["SlurmctldDown/slurmctld"] == {
        "alertname": "SlurmctldDown",
        "severity": "critical",
        "cluster": "prod",
        "service": "slurmctld",
        "daemon": "slurmctld",
    }
    assert "SlurmctldBackupDown/slurmctld@ctl2(backup)" in got  # the engine inhibits it
    down = next(c for c in ev.active if c.alertname == "SlurmctldDown")
    assert down.since == T0
    assert down.annotations["summary"] == "No slurmctld answers on cluster prod"
    assert "ctl1 primary, ctl2 backup" in down.annotations["description"]


def test_split_brain_protection_is_explained():
    ev = run(status(ctl1=DOWN, ctl2=UP, serving=None, ctl_condition="split_brain_protection"))
    down = next(c for c in ev.active if c.alertname == "SlurmctldDown")
    assert "split-brain protection" in down.annotations["description"]


def test_failover_names_the_serving_backup():
    got = active(run(status(ctl1=DOWN, ctl2=UP)))
    assert set(got) == {"SlurmctldFailover/slurmctld@ctl2"}
    assert got["SlurmctldFailover/slurmctld@ctl2"] == {
        "alertname": "SlurmctldFailover",
        "severity": "warning",
        "cluster": "prod",
        "service": "slurmctld",
        "daemon": "slurmctld",
        "host": "ctl2",
        "role": "backup",
    }


def test_backup_down_while_the_primary_serves():
    got = active(run(status(ctl2=DOWN)))
    assert set(got) == {"SlurmctldBackupDown/slurmctld@ctl2(backup)"}
    assert got["SlurmctldBackupDown/slurmctld@ctl2(backup)"]["role"] == "backup"


def test_slurmdbd_down_and_backup_down():
    got = active(run(status(dbd1=DOWN, dbd2=DOWN)))
    assert set(got) == {"SlurmdbdDown/slurmdbd", "SlurmdbdBackupDown/slurmdbd@dbd2(backup)"}
    ev = run(status(dbd_state=DOWN, dbd_condition="database_unreachable"))
    down = next(c for c in ev.active if c.alertname == "SlurmdbdDown")
    assert "cannot reach its database" in down.annotations["description"]


def test_a_lost_primary_slurmdbd_is_a_failover_warning_naming_the_serving_backup():
    ev = run(status(dbd1=DOWN, dbd2=UP))
    got = active(ev)
    assert set(got) == {"SlurmdbdFailover/slurmdbd@dbd2"}
    assert got["SlurmdbdFailover/slurmdbd@dbd2"] == {
        "alertname": "SlurmdbdFailover",
        "severity": "warning",
        "cluster": "prod",
        "service": "slurmdbd",
        "daemon": "slurmdbd",
        "host": "dbd2",
        "role": "backup",
    }
    (c,) = ev.active
    assert c.annotations["summary"] == "Backup slurmdbd dbd2 (backup) is serving cluster prod"
    assert "primary slurmdbd on dbd1 is not serving" in c.annotations["description"]


def test_slurmdbd_failover_stays_quiet_when_the_primary_serves_or_nothing_does():
    assert set(active(run(status(dbd1=UP, dbd2=DOWN)))) == {
        "SlurmdbdBackupDown/slurmdbd@dbd2(backup)"
    }
    both = active(run(status(dbd1=DOWN, dbd2=DOWN)))
    assert "SlurmdbdDown/slurmdbd" in both
    assert not any(k.startswith("SlurmdbdFailover") for k in both)
    database = active(run(status(dbd_state=DOWN, dbd_condition="database_unreachable")))
    assert set(database) == {"SlurmdbdDown/slurmdbd"}


def test_slurmdbd_failover_is_held_while_slurmdbd_is_unknowable():
    ev = run(status(blind="auth"))
    assert ev.is_held("SlurmdbdFailover", "slurmdbd@dbd2")
    assert not any(c.alertname == "SlurmdbdFailover" for c in ev.active)


def test_slow_overloaded_and_backlog_need_the_degraded_state_and_the_figure():
    stats = {"server_thread_count": 80, "agent_queue_size": 3, "dbd_agent_queue_size": 5000}
    assert active(run(status(stats=stats))) == {}  # not degraded after hysteresis: nothing
    got = active(run(status(ctl1=DEGRADED, latency=3.5, stats=stats, dbd_state=DEGRADED)))
    assert set(got) == {
        "SlurmctldSlow/slurmctld",
        "SlurmctldOverloaded/slurmctld",
        "SlurmdbdAgentQueueBacklog/slurmdbd",
    }
    ev = run(status(ctl1=DEGRADED, latency=3.5, stats=stats, dbd_state=DEGRADED))
    text = {c.alertname: c.annotations["description"] for c in ev.active}
    assert "3.50 s (threshold 2 s)" in text["SlurmctldSlow"]
    assert "server threads 80 (threshold 50)" in text["SlurmctldOverloaded"]
    assert "holds 5000 messages" in text["SlurmdbdAgentQueueBacklog"]


def test_thresholds_come_from_the_thresholds_table():
    th = Thresholds(ping_latency_seconds=5.0)
    assert active(run(status(ctl1=DEGRADED, latency=3.5), thresholds=th)) == {}


def burn(rates, remaining=0.5):
    return SlaFigures("prod", "slurmctld", 0.999, 0.998, remaining, 600.0, rates)


FAST = {"5m": 20.0, "30m": 2.0, "1h": 15.0, "6h": 2.0, "1d": 1.5, "3d": 1.2}


def test_budget_burn_page_and_ticket_windows():
    ev = run(status(), sla=[burn(FAST)])
    got = {c.instance: c for c in ev.active}
    assert set(got) == {"slurmctld:page", "slurmctld:ticket"}
    assert got["slurmctld:page"].labels["severity"] == "critical"
    assert got["slurmctld:page"].labels["urgency"] == "page"
    assert got["slurmctld:ticket"].labels["severity"] == "warning"
    assert "15.0 over 1h and 20.0 over 5m" in got["slurmctld:page"].annotations["description"]
    # the short window has recovered: no page (the long one alone is history, not news)
    calm = {**FAST, "5m": 0.5}
    assert {c.instance for c in run(status(), sla=[burn(calm)]).active} == {"slurmctld:ticket"}
    # 6x over 6h and 30m also pages
    slow = {"5m": 0, "30m": 7.0, "1h": 0, "6h": 6.5, "1d": 0, "3d": 0}
    assert {c.instance for c in run(status(), sla=[burn(slow)]).active} == {"slurmctld:page"}


def test_budget_burn_without_figures_is_held():
    ev = run(status(), sla=[burn({"1h": 20.0, "3d": 0.5, "6h": 0.2})])
    assert ev.active == ()
    assert ev.is_held("SlurmSLABudgetBurn", "slurmctld:page")  # 5m and 30m unknown
    assert not ev.is_held("SlurmSLABudgetBurn", "slurmctld:ticket")
    ev = run(status(), sla=[burn({"1h": 20.0, "5m": 20.0})])
    assert [c.instance for c in ev.active] == ["slurmctld:page"]  # what it can tell, it says


def test_blind_fires_only_blind_and_holds_the_rest():
    ev = run(status(blind="auth"))
    got = active(ev)
    assert set(got) == {"SlurmMonitorBlind/slurmctld", "SlurmMonitorBlind/slurmdbd"}
    assert got["SlurmMonitorBlind/slurmctld"]["service"] == "slurmctld"
    blind = ev.active[0]
    assert "ping: auth" in blind.annotations["description"]
    assert "not an outage" in blind.annotations["description"]
    for name in ("SlurmctldDown", "SlurmctldFailover", "SlurmdbdDown"):
        assert ev.is_held(name, "slurmctld")
    assert ev.is_held("SlurmctldBackupDown", "slurmctld@ctl2(backup)")


def test_blind_from_the_start_needs_two_rounds_of_failed_probes():
    st = status(blind="auth")
    first = replace(
        st,
        services={k: replace(v, cause="monitor started") for k, v in st.services.items()},
        probe_errors_total={("ping", "auth"): 1},
    )
    assert run(first).active == ()
    second = replace(first, probe_errors_total={("ping", "auth"): 2})
    assert len(run(second).active) == 2


def test_just_started_holds_everything_and_fires_nothing():
    ev = run(status(started=True))
    assert ev.active == ()
    assert ev.is_held("SlurmctldDown", "slurmctld")
    assert ev.is_held("SlurmdbdBackupDown", "slurmdbd@dbd2(backup)")


def test_severity_runbook_and_switches_are_configurable():
    settings = AlertSettings(runbook_url="https://wiki/runbooks/{alertname}?c={cluster}")
    rules = dict(settings.rules)
    rules["SlurmctldFailover"] = RuleSettings(severity="critical")
    rules["SlurmctldBackupDown"] = RuleSettings(enabled=False)
    rules["SlurmctldDown"] = RuleSettings(severity="critical", runbook_url="https://x/{service}")
    settings = replace(settings, rules=rules)
    ev = run(status(ctl1=DOWN, ctl2=UP), settings=settings)
    (failover,) = ev.active
    assert failover.labels["severity"] == "critical"
    assert failover.annotations["runbook_url"] == "https://wiki/runbooks/SlurmctldFailover?c=prod"
    ev = run(status(ctl1=DOWN, ctl2=DOWN), settings=settings)
    assert [c.alertname for c in ev.active] == ["SlurmctldDown"]
    assert ev.active[0].annotations["runbook_url"] == "https://x/slurmctld"
    assert "SlurmctldBackupDown" not in ev.rules


def test_no_slurmdbd_configured_means_no_slurmdbd_alerts():
    ev = run(status(dbd1=None, dbd2=None))
    assert ev.active == () and ev.held == ()

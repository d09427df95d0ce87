"""The monitor's own HA on the real cluster (issue 17, point 4): two replicas, each in its
own namespace (lab hosts mon1 and mon2), in HA mode at the shipped alert defaults but for
a 2 s interval and the Alertmanagers' group interval (tests/support/replica_pair.py says
why), sending to a two-peer Alertmanager cluster on the hub, one recording receiver.

- replica a SIGKILLed in the middle of a real outage (both slurmctld killed): one firing
  and one resolved SlurmctldDown notice; the merged report counts the outage within one
  probe round gap of what the harness measured, with no unknown time (b observed);
- replica a cut off from the controllers and slurmdbd, not from b or the Alertmanagers:
  no SlurmctldDown or SlurmdbdDown page (b sees the cluster up: the peer-view gate),
  a's SlurmMonitorBlind naming the partition instead, and the merged report shows the
  disagreement with both views;
- both replicas restarted one after the other (SIGTERM, start) during a failover: one
  firing and one resolved SlurmctldFailover notice.

One pair serves every case (module fixture); 22.05 only (its 1-3 s failback keeps the
failover case short; the gate does not depend on the release). CI budget: 150 s.
"""

from __future__ import annotations

import time

import pytest

from monitor.config import load_config
from monitor.ledger.query import service_period
from monitor.ledger.sla import Policy
from monitor.report.files import open_ledgers
from tests.support.receiver import wait_until
from tests.support.replica_pair import DEDUP_WINDOW, INTERVAL, JITTER, ReplicaPair

pytestmark = [pytest.mark.cluster, pytest.mark.slurm_versions("22.05")]
US = 1_000_000
# An outage is dated from the first round that saw it and ends at the first round that saw
# it over: each end is late by up to one round gap (the interval plus the shipped jitter),
# in the same direction, so the count differs from the truth by at most that.
COUNT_TOLERANCE = INTERVAL + JITTER
DOWN_PAGES = {"SlurmctldDown", "SlurmdbdDown", "SlurmctldBackupDown", "SlurmdbdBackupDown"}


@pytest.fixture(scope="module")
def pair(lab, tmp_path_factory):
    lab.heal()
    p = ReplicaPair(lab, tmp_path_factory.mktemp("ha-cluster"))
    try:
        for name in p.replicas:
            p.wait_ready(name, 90)
        yield p
    finally:
        p.close()  # the next test's heal() mends the lab (and rejoins an isolated mon1)


def settled(pair: ReplicaPair) -> None:
    """The lab healthy, both replicas running and seeing it so, nothing firing."""
    pair.lab.heal()
    for name, r in pair.replicas.items():
        if r.daemon is None:
            r.start()
        pair.wait_ready(name, 60)
    t0 = time.monotonic()
    while pair.firing_now() - {"SlurmSLABudgetBurn"}:
        assert time.monotonic() - t0 < 30, pair.timeline()
        time.sleep(0.1)


def restore_controllers(lab) -> float:
    """Start both controllers again; return when one answers ping: the outage's end as a
    client sees it."""
    lab.restore("ctl1")
    lab.restore("ctl2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "UP" in lab.ping().values():
            return time.time()
        time.sleep(0.1)
    raise AssertionError("no controller answered within 60 s of the restore")


def merged_period(pair: ReplicaPair, service: str, start: float, end: float) -> dict:
    config = load_config(pair["a"].config)
    ledgers = [f"{n}={r.state_dir}" for n, r in pair.replicas.items()]
    store = open_ledgers(config, ledgers)
    try:
        period = service_period(store, "lab", service, int(start * US), int(end * US),
                                Policy.from_settings(config.sla), 0.999,
                                windows=store.windows())  # fmt: skip
    finally:
        store.close()
    return period.to_dict()


def test_a_replica_killed_mid_outage_pages_once_and_the_merged_ledger_counts_it(pair):
    settled(pair)
    since, start = time.time(), time.time()
    t0 = time.time()
    pair.lab.kill("ctl1")
    pair.lab.kill("ctl2")
    pair.wait_seen("a", "slurmctld", False, 30)  # a saw the outage begin, then dies in it
    pair.wait_notice("SlurmctldDown", "firing", since, 30)
    pair["a"].sigkill()
    pair.wait_rounds("b", 2)  # b alone watches the outage go on
    outage = restore_controllers(pair.lab) - t0
    pair.wait_notice("SlurmctldDown", "resolved", since, 30)
    resolved_at = time.monotonic()
    end = time.time()
    pair.wait_rounds("b", 2)  # b's ledger covers up to `end`: not-yet-seen is not unknown
    d = merged_period(pair, "slurmctld", start, end)
    doc = pair.report()
    pair.stays_single("SlurmctldDown", since, DEDUP_WINDOW - (time.monotonic() - resolved_at))

    print(f"measured outage {outage:.1f} s; merged count {d['downtime_seconds']:.1f} s, "
          f"unknown {d['unknown_seconds']:.1f} s")  # fmt: skip
    assert abs(d["downtime_seconds"] - outage) <= COUNT_TOLERANCE, (outage, d)
    assert d["unknown_seconds"] == 0, d  # b observed throughout
    service = next(s for c in doc["clusters"] for s in c["services"]
                   if s["service"] == "slurmctld")  # fmt: skip
    since_iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start - 1))
    ours = [i for i in service["incidents"] if i["start"] >= since_iso]
    assert abs(sum(i["downtime_seconds"] for i in ours) - outage) <= COUNT_TOLERANCE, ours
    assert doc["inputs"]["replicas"] == ["a", "b"]


def test_a_replica_cut_off_from_the_cluster_is_blind_not_paging_down(pair):
    settled(pair)
    since, start = time.time(), time.time()
    pair.lab.replica_hosts.isolate(pair["a"].host)
    pair.wait_seen("a", "slurmctld", False, 30)  # what a sees: every controller gone

    def blind_summaries() -> str:  # one alert per service, each paged when its lane confirms
        firing, _ = pair.notices("SlurmMonitorBlind", since)
        return " ".join(a["annotations"]["summary"] for p in firing for a in p.body["alerts"]
                        if a["labels"]["alertname"] == "SlurmMonitorBlind")  # fmt: skip

    wait_until(lambda: "slurmctld up" in blind_summaries(), 60, "a's blindness for slurmctld")
    assert "replica a cannot reach the controllers; replica b sees slurmctld up" in (
        blind_summaries()
    )
    assert pair["a"].d.value("slurm_sla_monitor_alert_withheld", alertname="SlurmctldDown") == 1
    pair.lab.replica_hosts.rejoin(pair["a"].host)
    pair.wait_seen("a", "slurmctld", True, 30)
    pair.wait_notice("SlurmMonitorBlind", "resolved", since, 30)
    end = time.time()
    pair.wait_rounds("b", 2)
    # No Down-class alert reached the Alertmanagers, let alone the receiver.
    assert not {n for n in DOWN_PAGES if pair.notices(n, since)[0]}, pair.timeline()
    doc = pair.report()
    service = next(s for c in doc["clusters"] for s in c["services"]
                   if s["service"] == "slurmctld")  # fmt: skip
    since_iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start - 1))
    ours = [x for x in service["disagreements"] if x["start"] >= since_iso]
    assert any(x["views"] == {"a": "down", "b": "up"} for x in ours), service
    assert all(x["chosen"] == "up" for x in ours)
    d = merged_period(pair, "slurmctld", start, end)
    assert d["downtime_seconds"] == 0 and d["unknown_seconds"] == 0, d


def test_both_replicas_restarted_during_a_failover_page_once(pair):
    settled(pair)
    since = time.time()
    pair.lab.kill("ctl1")
    pair.wait_notice("SlurmctldFailover", "firing", since, 45)
    for name in ("a", "b"):
        assert pair[name].sigterm() == 0
        pair[name].start()
        pair[name].d.wait_ready(30)
        pair[name].d.wait_until(f"replica {name} confirms the failover", lambda n=name: pair[
            n].d.value("slurm_controller_active", host="ctl2") == 1.0, 30)  # fmt: skip
    pair.lab.restore("ctl1")
    pair.wait_notice("SlurmctldFailover", "resolved", since, 45)
    pair.stays_single("SlurmctldFailover", since, DEDUP_WINDOW)
    assert not {n for n in DOWN_PAGES if pair.notices(n, since)[0]}, pair.timeline()

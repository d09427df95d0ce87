"""The real daemon against the real HA cluster, scraped by a real Prometheus that loads
alert_rules/, delivering its own alerts to a real HTTP receiver, recording the SLA ledger.

The daemon runs in the root namespace and reaches the lab through its client wrappers
(`slurm_bin = lab.bin_dir`: every command enters the lab's client host), so Prometheus and
the receiver are plain loopback services. slurmdbd's port check needs the lab's own network,
so this module probes slurmctld only (`accounting = false`); slurmdbd verdicts are proven by
test_probe_cluster.py, which runs the monitor on the client host itself.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess, free_port
from tests.support.dashboard import dashboard_expressions
from tests.support.prometheus import Prometheus
from tests.support.receiver import ScriptedRecorder

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
INTERVAL, CONFIRM, THRESHOLD = 2.0, 0.5, 2


def write_config(path: Path, lab, port: int, hook: str, late: str) -> None:
    path.write_text(
        "[monitor]\n"
        f"interval_seconds = {INTERVAL}\nconfirm_interval_seconds = {CONFIRM}\n"
        f"failure_threshold = {THRESHOLD}\nrecovery_threshold = {THRESHOLD}\n"
        "jitter_seconds = 0\ncommand_timeout_seconds = 5\nslow_command_timeout_seconds = 20\n"
        f'listen = "127.0.0.1:{port}"\nstate_dir = "{path.parent}/state"\n'
        'log_format = "json"\n'
        "[[clusters]]\n"
        'name = "lab"\n'
        f'slurm_conf = "{lab.slurm_conf}"\nslurm_bin = "{lab.bin_dir}"\n'
        f'munge_bin = "{lab.bin_dir}"\naccounting = false\n'
        # The shipped alert policy: flapping only marks notices, it never holds one.
        "[alerts.outbox]\nretry_initial_seconds = 0.5\nretry_max_seconds = 2\n"
        "[[receivers]]\n"
        'name = "oncall"\ntype = "webhook"\n'
        f'url = "{hook}"\n'
        # A second receiver, down until a test starts it: the outbox must hold its notices.
        "[[receivers]]\n"
        'name = "late"\ntype = "webhook"\n'
        f'url = "{late}"\n'
    )


class Stack:
    def __init__(self, lab, root: Path) -> None:
        self.lab = lab
        self.root = root
        self.receiver = ScriptedRecorder()
        self.port = free_port()
        self.late_port = free_port()
        self.config = root / "config.toml"
        write_config(self.config, lab, self.port, self.receiver.url + "/hook",
                     f"http://127.0.0.1:{self.late_port}/late")
        self.daemon = DaemonProcess(self.config, self.port)
        self.prom = Prometheus([f"127.0.0.1:{self.port}"],
                               rule_files=sorted((REPO / "alert_rules").glob("*.rules.yml")),
                               scrape_interval="1s", evaluation_interval="1s").start()

    def restart_daemon(self, kill: bool = False) -> float:
        """Stop (SIGKILL when ``kill``) and start the daemon again; return the gap."""
        t0 = time.monotonic()
        if kill:
            self.daemon.proc.kill()
            self.daemon.proc.wait()
        else:
            self.daemon.stop()
        self.daemon = DaemonProcess(self.config, self.port,
                                    log=self.root / f"daemon-{int(t0)}.log")
        self.daemon.wait_ready()
        return time.monotonic() - t0

    def metric(self, expr: str) -> float | None:
        result = self.prom.query(expr)
        return float(result[0]["value"][1]) if result else None

    def notices(self) -> list[dict]:
        """Every alert notice the receiver got, flattened: (status, alertname, labels)."""
        out = []
        for request in self.receiver.on("/hook"):
            payload = json.loads(request["body"])
            for alert in payload["alerts"]:
                out.append({"status": alert["status"], **alert["labels"],
                            "group_status": payload["status"], "startsAt": alert["startsAt"]})
        return out

    def close(self) -> None:
        self.daemon.stop()
        self.prom.stop()
        self.receiver.close()


@pytest.fixture(scope="module")
def stack(lab, tmp_path_factory):
    lab.heal()
    s = Stack(lab, tmp_path_factory.mktemp("daemon-cluster"))
    try:
        s.daemon.wait_ready()
        s.prom.wait_until(lambda: s.metric('slurm_service_up{service="slurmctld"}') == 1.0,
                          60, "slurmctld up in Prometheus")
        yield s
    finally:
        s.close()


@pytest.fixture
def healthy_stack(stack):
    stack.lab.heal()
    stack.daemon.wait_until("service up", lambda: stack.daemon.value(
        "slurm_daemon_state", host="ctl1", state="up") == 1.0 and stack.daemon.value(
        "slurm_daemon_state", host="ctl2", state="up") == 1.0, 60)
    return stack


def test_failover_seen_by_prometheus_and_alerted(healthy_stack):
    s = healthy_stack
    failovers = s.metric('slurm_controller_failovers_total{cluster="lab"}') or 0.0
    sent = len(s.notices())
    s.lab.kill("ctl1")
    s.prom.wait_until(lambda: s.metric('slurm_daemon_up{host="ctl1"}') == 0.0, 30,
                      "ctl1 slurm_daemon_up 0")
    s.lab.wait_serving("ctl2", timeout=30)
    s.prom.wait_until(lambda: s.metric('slurm_controller_active{host="ctl2"}') == 1.0, 30,
                      "the backup active")
    assert s.metric('slurm_controller_active{host="ctl1"}') == 0.0
    s.prom.wait_until(lambda: (s.metric('slurm_controller_failovers_total{cluster="lab"}')
                               or 0) > failovers, 30, "failovers_total increased")
    assert s.metric('slurm_service_up{service="slurmctld"}') == 1.0
    # Prometheus's own rules (alert_rules/) see the failover too
    s.prom.wait_until(lambda: [a for a in s.prom.alerts()
                               if a["labels"]["alertname"] == "SlurmctldFailover"], 30,
                      "SlurmctldFailover pending or firing in Prometheus")
    # the daemon's own alert: failover, and never "down"
    s.receiver.wait_for(1, "/hook", timeout=30)
    new = s.notices()[sent:]
    names = {n["alertname"] for n in new}
    assert "SlurmctldFailover" in names, new
    assert "SlurmctldDown" not in names


def test_both_controllers_down_pages_once_and_resolves(healthy_stack):
    s = healthy_stack
    sent = len(s.notices())
    requests_before = len(s.receiver.on("/hook"))
    s.lab.kill("ctl1")
    s.lab.kill("ctl2")
    s.prom.wait_until(lambda: s.metric('slurm_service_up{service="slurmctld"}') == 0.0, 40,
                      "slurmctld service down")

    def down_notices():
        return [n for n in s.notices()[sent:] if n["alertname"] == "SlurmctldDown"]

    firing = s.prom.wait_until(lambda: [n for n in down_notices() if n["status"] == "firing"],
                               30, "SlurmctldDown delivered")
    requests_with_down = [r for r in s.receiver.on("/hook")[requests_before:]
                          if b"SlurmctldDown" in r["body"]]
    assert len(firing) >= 1 and len(requests_with_down) == 1  # one grouped notification
    s.lab.heal()
    s.prom.wait_until(lambda: [n for n in down_notices() if n["status"] == "resolved"], 60,
                      "SlurmctldDown resolved")


def test_outbox_survives_a_receiver_outage_and_a_sigkill_of_the_monitor(healthy_stack):
    """The `late` receiver is down for a whole incident; the monitor is SIGKILLed while
    the notices wait in its outbox; after the restart and the receiver's return, both the
    firing and the resolved notice arrive."""
    s = healthy_stack
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    s.lab.kill("ctl1")
    s.lab.kill("ctl2")
    s.daemon.wait_until("service down", lambda: s.daemon.value(
        "slurm_service_up", service="slurmctld") == 0.0, 60)
    # The firing notice is committed for every receiver in one transaction: once `oncall`
    # has it, `late`'s copy waits in the outbox. Then the monitor is killed.
    s.prom.wait_until(lambda: [n for n in s.notices() if n["alertname"] == "SlurmctldDown"
                               and n["status"] == "firing" and n["startsAt"] >= since], 30,
                      "SlurmctldDown delivered to oncall")
    assert (s.daemon.value("slurm_sla_alert_outbox_depth", receiver="late") or 0) >= 1
    s.restart_daemon(kill=True)
    s.lab.heal()
    s.daemon.wait_until("recovered", lambda: s.daemon.value(
        "slurm_service_up", service="slurmctld") == 1.0, 60)
    late = ScriptedRecorder(s.late_port)  # the receiver comes back
    try:
        def statuses() -> set[str]:
            got = set()
            for request in late.on("/late"):
                for alert in json.loads(request["body"])["alerts"]:
                    if alert["labels"]["alertname"] == "SlurmctldDown" and \
                            alert["startsAt"] >= since:  # this incident's, not an earlier one
                        got.add(alert["status"])
            return got

        try:
            s.prom.wait_until(lambda: statuses() >= {"firing", "resolved"} or None, 60,
                              "firing and resolved SlurmctldDown at the late receiver")
        except Exception:
            got = [(a["status"], a["labels"]["alertname"], a["startsAt"], a.get("endsAt"))
                   for r in late.on("/late") for a in json.loads(r["body"])["alerts"]]
            raise AssertionError(f"late got {got} (incident since {since})") from None
    finally:
        late.close()


def test_munge_down_is_blind_only(healthy_stack):
    s = healthy_stack
    sent = len(s.notices())
    auth_before = s.metric('sum(slurm_probe_errors_total{reason="auth"})') or 0.0
    s.lab.kill("munge")
    s.prom.wait_until(lambda: s.metric(
        'slurm_daemon_state{host="ctl1",state="unknown"}') == 1.0, 40, "ctl1 unknown")
    assert s.metric('slurm_daemon_state{host="ctl2",state="unknown"}') == 1.0
    assert (s.metric('sum(slurm_probe_errors_total{reason="auth"})') or 0) > auth_before
    assert s.metric('sum(slurm_daemon_state{state="down"})') == 0.0
    assert s.metric('slurm_service_up{service="slurmctld"}') is None  # absent, not 0
    s.prom.wait_until(lambda: [n for n in s.notices()[sent:]
                               if n["alertname"] == "SlurmMonitorBlind"], 40,
                      "SlurmMonitorBlind delivered")
    names = {n["alertname"] for n in s.notices()[sent:]}
    assert names == {"SlurmMonitorBlind"}, names


def test_metrics_stay_fast_while_slurmctld_is_frozen(healthy_stack):
    s = healthy_stack
    s.lab.freeze("ctl1")
    try:
        time.sleep(INTERVAL * 2)  # rounds are now waiting on the frozen controller
        for _ in range(20):
            t0 = time.monotonic()
            code, body = s.daemon.get("/metrics")
            assert code == 200 and "slurm_daemon_state" in body
            assert time.monotonic() - t0 < 0.5
        s.daemon.wait_until("frozen primary seen down", lambda: s.daemon.value(
            "slurm_daemon_state", host="ctl1", state="down") == 1.0, 60)
    finally:
        s.lab.thaw("ctl1")


def test_every_dashboard_query_runs_against_the_real_cluster(healthy_stack):
    s = healthy_stack
    time.sleep(3)
    failures = []
    for expr in dashboard_expressions("lab"):
        try:
            s.prom.query(expr)
        except Exception as exc:  # noqa: BLE001 - collect every bad query
            failures.append(f"{expr}: {exc}")
    assert not failures, "\n".join(failures)


def restore_controllers(lab) -> float:
    """Start both controllers again; return when one answers ping: the outage's end as a
    client sees it (the monitor's verdict is judged against this)."""
    lab.restore("ctl1")
    lab.restore("ctl2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "UP" in lab.ping().values():
            return time.time()
        time.sleep(0.1)
    raise AssertionError("no controller answered within 60 s of the restore")


class TruthSampler:
    """What a client sees, all along: `scontrol ping` every ~0.2 s in a thread, so a silence
    the script did not cause on purpose (a slow failback after a restore) is measured too."""

    def __init__(self, lab) -> None:
        import threading

        self.lab = lab
        self.samples: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            answered = "UP" in self.lab.ping().values()
            self.samples.append((time.time(), answered))
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def silences(self) -> list[tuple[float, float]]:
        """[first silent sample, first answered sample after it) for each silence."""
        out, began = [], None
        for at, answered in self.samples:
            if not answered and began is None:
                began = at
            elif answered and began is not None:
                out.append((began, at))
                began = None
        if began is not None:
            out.append((began, self.samples[-1][0]))
        return out


Spans = list[tuple[float, float]]


def union(spans: Spans) -> Spans:
    out: Spans = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def overlap(a: Spans, b: Spans) -> Spans:
    """The parts of ``a`` inside ``b`` (each sorted and disjoint)."""
    return sorted((max(x, y), min(x2, y2)) for x, x2 in a for y, y2 in b
                  if max(x, y) < min(x2, y2))


def length(spans: Spans) -> float:
    return sum(b - a for a, b in spans)


def ledger_dump(store, cluster: str, service: str, start: float, end: float) -> str:
    """The ledger's heartbeat segments and transitions, seconds from ``start``."""
    us = 1_000_000
    lo, hi = int(start * us), int(end * us)
    coverage = store.coverage(cluster, lo, hi)
    lines = [f"segment run {c.run}: {c.first / us - start:.2f} .. {c.last / us - start:.2f}"
             for c in coverage]
    for t in sorted(store.service_transitions(cluster, service, lo, hi, coverage)):
        lines.append(f"transition run {t[1]} at {t[0] / us - start:.2f}: {t[3]} ({t[4]})")
    return "\n".join(lines)


def test_scripted_timeline_sla_matches_what_the_test_measured(healthy_stack):
    """Both controllers down for a measured time; a maintenance window over another outage;
    a failover whose backup then dies, the monitor SIGKILLed and restarted mid-incident.
    The ledger's counted downtime is within one probe interval of the measured outages."""
    import subprocess
    import sys

    from monitor.config import load_config
    from monitor.ledger.query import service_period
    from monitor.ledger.sla import Policy
    from monitor.ledger.store import LedgerStore, open_database

    s = healthy_stack
    start = time.time()
    truth = TruthSampler(s.lab)
    # 1. both controllers down, measured
    t0 = time.time()
    s.lab.kill("ctl1")
    s.lab.kill("ctl2")
    time.sleep(12)
    outage1 = restore_controllers(s.lab) - t0
    s.lab.heal()
    # 2. an outage inside a maintenance window
    window_start = time.time()
    s.lab.kill("ctl1")
    s.lab.kill("ctl2")
    time.sleep(8)
    s.lab.heal()
    window_end = time.time()
    time.sleep(5)  # keep the next outage clear of the window
    # 3. a failover (not downtime), then the serving backup dies too, and the monitor is
    # SIGKILLed mid-incident, inside the takeover grace (10 s after a backup served, a
    # silence is held back: a takeover looks like that), restarted while the outage goes on.
    # The held silence must be unknown, not up (a CI run lost ~6 s of an outage that way).
    s.lab.kill("ctl1")
    s.lab.wait_serving("ctl2", timeout=30)
    s.daemon.wait_until("the monitor sees the backup serving", lambda: s.daemon.value(
        "slurm_controller_active", host="ctl2") == 1.0, 30)
    t1 = time.time()
    s.lab.kill("ctl2")
    time.sleep(6)
    killed_at = time.time()
    gap = s.restart_daemon(kill=True)
    time.sleep(6)
    outage2 = restore_controllers(s.lab) - t1
    s.lab.heal()
    s.daemon.wait_until("recovered", lambda: s.daemon.value(
        "slurm_service_up", service="slurmctld") == 1.0, 60)
    time.sleep(INTERVAL * 2)
    end = time.time()
    truth.stop()

    # The window is recorded after the fact, as an operator would (CLI `maintenance add`).
    iso = time.strftime
    add = subprocess.run(
        [sys.executable, "-m", "monitor", "maintenance", "add", "--config", str(s.config),
         "--start", iso("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window_start - 1)),
         "--end", iso("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window_end + 2)),
         "--reason", "test window", "--retroactive"],
        capture_output=True, text=True, timeout=30)
    assert add.returncode == 0, add.stderr

    config = load_config(s.config)
    store = LedgerStore(open_database(config.monitor.state_dir))
    us = 1_000_000
    period = service_period(store, "lab", "slurmctld", int(start * us), int(end * us),
                            Policy.from_settings(config.sla), 0.999,
                            windows=store.windows())
    d = period.to_dict()
    # The silence the dead monitor held back was not up: from its first silent round (within
    # an interval of the kill, two to spare) to the SIGKILL, it is unknown (or down).
    held = service_period(store, "lab", "slurmctld", int((t1 + 2 * INTERVAL) * us),
                          int((killed_at - 0.2) * us), Policy.from_settings(config.sla), 0.999,
                          windows=store.windows()).to_dict()
    assert held["up_seconds"] == 0, held
    counted = d["downtime_seconds"]
    unknown = d["unknown_seconds"]
    # What should have been counted, from what a client saw: the silences that are the
    # script's outages, less the maintenance window, less the time the ledger leaves
    # unknown (the monitor's gap, and the silence the killed monitor had held back
    # undecided: it may begin before the scripted kill, at the takeover's own brief
    # silence, which a client sees ~1 s before the backup serves and is not downtime).
    scripted = [(t0, t0 + outage1), (t1, t1 + outage2)]
    outages = [o for o in truth.silences() if overlap([o], scripted)]
    us = 1_000_000
    seen = union([(c.first / us, c.last / us)
                  for c in store.coverage("lab", int(start * us), int(end * us))])
    window = [(float(int(window_start - 1)), float(int(window_end + 2)))]
    should = length(overlap(outages, seen)) - length(overlap(overlap(outages, seen), window))
    print(f"scripted outages {outage1:.1f} s + {outage2:.1f} s, monitor gap {gap:.1f} s; "
          f"counted {counted:.1f} s, unknown {unknown:.1f} s, should be {should:.1f} s; "
          f"incidents: {json.dumps(d['incidents'], indent=1)}")
    marks = {"t0": t0, "window_start": window_start, "window_end": window_end, "t1": t1,
             "killed_at": killed_at, "end": end}
    print("script: " + ", ".join(f"{k} {v - start:.2f}" for k, v in marks.items()))
    print("silences a client saw: " + ", ".join(
        f"{a - start:.2f}..{b - start:.2f}" for a, b in truth.silences()))
    print(ledger_dump(store, "lab", "slurmctld", start, end))
    # Each outage's count is late at both ends by at most one round gap (README, "How
    # close the count is"): two outages, two gaps.
    tolerance = 2 * INTERVAL
    assert len(outages) == 2, outages
    assert abs(counted - should) <= tolerance, (counted, should, unknown, d)
    assert unknown >= gap - INTERVAL
    assert d["maintenance_seconds"] >= 8
    assert d["failovers"], d  # listed, and not downtime
    assert len(d["incidents"]) >= 2, d

    # The monthly report (issue 7) shows the same incidents and numbers.
    report = subprocess.run(
        [sys.executable, "-m", "monitor", "report", "--config", str(s.config), "--month",
         "current", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    service = next(x for c in doc["clusters"] for x in c["services"]
                   if x["service"] == "slurmctld")
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start))
    ours = [i for i in service["incidents"] if i["start"] >= since]
    assert abs(sum(i["downtime_seconds"] for i in ours) - counted) < 0.01, (ours, counted)
    assert abs(sum(i["downtime_seconds"] for i in ours) - should) <= tolerance
    assert any(i["maintenance_seconds"] > 0 for i in ours)
    assert {i["cause"] for i in ours} == {"both controllers down"}
    assert any(f["at"] >= since for f in service["failovers"])

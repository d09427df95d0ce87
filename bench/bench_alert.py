"""From `kill -9` of slurmctld to (a) the state change in /metrics and (b) the alert at a
webhook receiver, on the real HA cluster (Debian, root), against the usual path measured on
the same incidents: a real Prometheus scraping our /metrics every 30 s, alert_rules/'s
SlurmctldDown at its `for: 1m`, a real Alertmanager with the default group_wait (30 s)
delivering to the same receiver.

    python -m bench.bench_alert [--primary-runs 3] [--both-runs 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import machine
from tests.support.daemon import DaemonProcess, free_port
from tests.support.debian import ensure_packages
from tests.support.prometheus import Prometheus
from tests.support.receiver import ScriptedRecorder as Recorder

REPO = Path(__file__).resolve().parents[1]
INTERVAL, THRESHOLD, CONFIRM = 10.0, 2, 1.0  # the shipped defaults
BOUND_METRIC = INTERVAL + (THRESHOLD - 1) * CONFIRM + 2
BOUND_ALERT = INTERVAL + (THRESHOLD - 1) * CONFIRM + 3


def start_alertmanager(root: Path, hook: str, port: int) -> subprocess.Popen:
    """A fresh Alertmanager (new storage) on ``port``: each incident is then a new group,
    notified after group_wait, as a first incident is in production."""
    ensure_packages("prometheus-alertmanager", binary="prometheus-alertmanager")
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "alertmanager.yml"
    # Alertmanager's defaults: group_wait 30s, group_interval 5m.
    cfg.write_text(
        "route:\n  receiver: rec\n  group_by: [alertname, cluster]\n"
        f"receivers:\n- name: rec\n  webhook_configs:\n  - url: {hook}\n"
    )
    return subprocess.Popen(
        [
            "prometheus-alertmanager",
            f"--config.file={cfg}",
            f"--storage.path={root / 'am'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def first_firing(recorder: Recorder, path: str, alertname: str, after: float) -> float | None:
    for request in recorder.on(path):
        if request["at"] < after:
            continue
        payload = json.loads(request["body"])
        for alert in payload.get("alerts", []):
            if alert["labels"].get("alertname") == alertname and alert["status"] == "firing":
                return request["at"]
    return None


def wait_for(check, timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(what)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--primary-runs", type=int, default=3)
    ap.add_argument("--both-runs", type=int, default=2)
    args = ap.parse_args()
    from tests.cluster.lab import Lab

    with tempfile.TemporaryDirectory(prefix="bench-alert-") as tmp:
        root = Path(tmp)
        lab = Lab()
        lab.start()
        recorder = Recorder()
        am_port = free_port()
        am_addr = f"127.0.0.1:{am_port}"
        am_proc = start_alertmanager(root / "am-0", recorder.url + "/am", am_port)
        port = free_port()
        config = root / "config.toml"
        config.write_text(
            f"[monitor]\ninterval_seconds = {INTERVAL}\nfailure_threshold = {THRESHOLD}\n"
            f'confirm_interval_seconds = {CONFIRM}\nlisten = "127.0.0.1:{port}"\n'
            f'state_dir = "{root}/state"\nlog_format = "json"\n'
            f'[[clusters]]\nname = "lab"\nslurm_conf = "{lab.slurm_conf}"\n'
            f'slurm_bin = "{lab.bin_dir}"\nmunge_bin = "{lab.bin_dir}"\naccounting = false\n'
            # The shipped alert policy (flapping only marks notices, it never holds one).
            f'[[receivers]]\nname = "oncall"\ntype = "webhook"\nurl = "{recorder.url}/hook"\n'
        )
        daemon = DaemonProcess(config, port)
        prom = Prometheus(
            [f"127.0.0.1:{port}"],
            rule_files=sorted((REPO / "alert_rules").glob("*.rules.yml")),
            scrape_interval="30s",
            evaluation_interval="30s",
            extra_config={
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am_addr]}]}]}
            },
        )
        results: dict[str, list[float]] = {}
        try:
            daemon.wait_ready(60)
            prom.start()
            print(
                f"# kill -9 -> /metrics and -> alert at a webhook; real Slurm 22.05 HA "
                f"cluster; interval {INTERVAL:g} s, failure_threshold {THRESHOLD}, "
                f"confirm {CONFIRM:g} s; {machine()}"
            )
            for kind, names, alert, runs in (
                ("primary", ["ctl1"], "SlurmctldFailover", args.primary_runs),
                ("both", ["ctl1", "ctl2"], "SlurmctldDown", args.both_runs),
            ):
                for run_no in range(runs):
                    lab.heal()
                    if kind == "both":  # a new Alertmanager: this incident is a new group
                        am_proc.terminate()
                        am_proc.wait(10)
                        am_proc = start_alertmanager(
                            root / f"am-{run_no + 1}", recorder.url + "/am", am_port
                        )
                    daemon.wait_until(
                        "healthy",
                        lambda: daemon.value("slurm_daemon_state", host="ctl1", state="up") == 1.0,
                        120,
                    )
                    time.sleep(3 + (time.time() % 7))  # a random phase against the interval
                    t0 = time.monotonic()
                    for name in names:
                        lab.kill(name)
                    metric = daemon.wait_until(
                        "ctl1 down",
                        lambda: (
                            daemon.value("slurm_daemon_state", host="ctl1", state="down") == 1.0
                        ),
                        60,
                        interval=0.05,
                    )
                    ours = (
                        wait_for(
                            lambda a=alert, t=t0: first_firing(recorder, "/hook", a, t),
                            60,
                            f"{alert} at our webhook",
                        )
                        - t0
                    )
                    results.setdefault(f"{kind}:metric", []).append(metric)
                    results.setdefault(f"{kind}:alert", []).append(ours)
                    if kind == "both":
                        try:
                            usual = (
                                wait_for(
                                    lambda t=t0: first_firing(recorder, "/am", "SlurmctldDown", t),
                                    300,
                                    "SlurmctldDown via Prometheus+Alertmanager",
                                )
                                - t0
                            )
                        except TimeoutError:
                            usual = float("inf")  # not within 5 minutes: shown as such
                        results.setdefault("both:usual", []).append(usual)
        finally:
            daemon.stop()
            prom.stop()
            am_proc.terminate()
            am_proc.wait(10)
            recorder.close()
            lab.stop()

    def med(key: str) -> str:
        values = results.get(key, [])
        return (
            f"{statistics.median(values):6.1f} s (runs: "
            + ", ".join(f"{v:.1f}" for v in values)
            + ")"
            if values
            else "n/a"
        )

    print(
        f"primary killed -> slurm_daemon_state down in /metrics: median {med('primary:metric')}"
        f"  bound {BOUND_METRIC:g} s"
    )
    print(
        f"primary killed -> SlurmctldFailover at webhook:        median {med('primary:alert')}"
        f"  bound {BOUND_ALERT:g} s"
    )
    print(
        f"both killed    -> slurm_daemon_state down in /metrics: median {med('both:metric')}"
        f"  bound {BOUND_METRIC:g} s"
    )
    print(
        f"both killed    -> SlurmctldDown at webhook (ours):     median {med('both:alert')}"
        f"  bound {BOUND_ALERT:g} s"
    )
    print(
        f"both killed    -> SlurmctldDown via Prometheus (30 s scrape, for: 1m) + "
        f"Alertmanager (group_wait 30 s): median {med('both:usual')}"
    )
    if results.get("both:usual") and results.get("both:alert"):
        ratio = statistics.median(results["both:usual"]) / statistics.median(results["both:alert"])
        print(f"usual path / ours = {ratio:.1f}x")


if __name__ == "__main__":
    main()

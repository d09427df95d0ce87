"""How many clusters one daemon keeps on schedule at a 10 s interval on one core, and its
RSS and CPU per cluster, on simulated clusters. The baseline is the same daemon with one
cluster, same run.

- ``--backend cli``: stand-in commands replaying recorded 22.05 output without delays
  (every probe is a process start);
- ``--backend rest``: a simulated slurmrestd in its own process, off the daemon's core,
  replaying JSON recorded on a real 26.05 cluster over keep-alive HTTP, one URL per cluster.

The last line is one JSON object for the largest size: clusters, on_schedule_ratio,
cpu_core_fraction, rss_mib, backend.

    python -m bench.bench_capacity [--backend cli|rest] [--clusters 1 50 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

from bench.common import machine
from monitor.simulator.cluster import SimulatedCluster
from monitor.simulator.restd import TOKEN
from tests.support.daemon import DaemonProcess, free_port

INTERVAL = 10.0


def cli_clusters(sim: SimulatedCluster) -> Callable[[int], str]:
    addresses = ", ".join(f'{h} = "{a}"' for h, a in sim.host_addresses().items())
    return lambda i: (
        f'[[clusters]]\nname = "c{i:04d}"\nslurm_bin = "{sim.bin_dir}"\n'
        f'munge_bin = "{sim.bin_dir}"\nhost_addresses = {{ {addresses} }}\n'
    )


def rest_clusters(url: str, token: Path) -> Callable[[int], str]:
    return lambda i: (
        f'[[clusters]]\nname = "c{i:04d}"\nbackend = "rest"\nurl = "{url}/c{i:04d}"\n'
        f'token_file = "{token}"\n'
    )


def run(n: int, seconds: float, root: Path, cluster: Callable[[int], str]) -> dict[str, float]:
    port = free_port()
    config = root / f"capacity-{n}.toml"
    clusters = "".join(cluster(i) for i in range(n))
    config.write_text(
        f'[monitor]\ninterval_seconds = {INTERVAL}\nlisten = "127.0.0.1:{port}"\n'
        f'state_dir = "{root}/state-{n}"\nlog_format = "json"\nmax_workers = 16\n'
        "jitter_seconds = 5\n" + clusters
    )
    # One core for the daemon and everything it starts (the stand-ins inherit the mask).
    daemon = DaemonProcess(config, port, spawn=lambda argv, **kw: _pinned(argv, **kw))
    try:
        daemon.wait_ready(60)
        proc = psutil.Process(daemon.proc.pid)
        time.sleep(INTERVAL * 1.5)  # warm up: every cluster has had its first rounds
        cpu0 = _cpu_tree(proc)
        rounds0 = _rounds(daemon)
        t0 = time.monotonic()
        ages: list[float] = []
        lags: list[float] = []
        rss = 0
        while time.monotonic() - t0 < seconds:
            now = time.time()
            body = _exposition(daemon)
            # The schedule is read as of the render the values come from; how old the bytes
            # a scrape gets are (the render period at fleet size) is reported apart.
            (taken,) = _samples(body, b"slurm_sla_monitor_metrics_rendered_timestamp_seconds")
            ages += [taken - v for v in _samples(body, b"slurm_sla_last_probe_timestamp_seconds")]
            lags.append(now - taken)
            rss = max(rss, proc.memory_info().rss)
            time.sleep(2)
        elapsed = time.monotonic() - t0
        cpu = (_cpu_tree(proc) - cpu0) / elapsed
        rounds = (_rounds(daemon) - rounds0) / elapsed * INTERVAL / n
        ages.sort()
        on_time = sum(1 for a in ages if a <= INTERVAL + 5) / len(ages) if ages else 0.0
        return {
            "clusters": n,
            "cpu": cpu,
            "rss": rss,
            "rounds_per_interval": rounds,
            "on_time": on_time,
            "age_p99": ages[int(0.99 * (len(ages) - 1))] if ages else 0,
            "lag_p99": sorted(lags)[int(0.99 * (len(lags) - 1))] if lags else 0,
        }
    finally:
        daemon.stop()


def _pinned(argv, **kwargs):
    import subprocess

    def pin() -> None:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    return subprocess.Popen(argv, preexec_fn=pin, **kwargs)  # noqa: PLW1509


def _cpu_tree(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def _rounds(daemon: DaemonProcess) -> float:
    return sum(_samples(_exposition(daemon), b"slurm_sla_monitor_probe_rounds_total"))


def _exposition(daemon: DaemonProcess) -> bytes:
    with urllib.request.urlopen(daemon.url + "/metrics", timeout=30) as resp:
        return resp.read()


def _samples(body: bytes, name: bytes) -> list[float]:
    """The values of one metric's samples, read off the raw exposition (at 1,000 clusters
    it is 17 MB: parsing it whole every 2 s would load the benchmark, not the daemon)."""
    return [
        float(line.rsplit(b" ", 1)[1])
        for line in body.splitlines()
        if line.startswith(name) and line[len(name) : len(name) + 1] in (b"{", b" ")
    ]


def _restd(root: Path) -> tuple[subprocess.Popen, str, Path]:
    """The simulated slurmrestd in its own process, on another core than the daemon's."""
    token = root / "jwt"
    token.write_text(TOKEN + "\n")
    cores = sorted(os.sched_getaffinity(0))
    other = {cores[-1]} if len(cores) > 1 else set(cores)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.simulator.restd"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, other),  # noqa: PLW1509
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    return proc, url, token


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("cli", "rest"), default="cli")
    ap.add_argument("--clusters", type=int, nargs="+", default=[1, 50, 200])
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        root = Path(tmp)
        sim = SimulatedCluster(root / "sim")
        restd = None
        if args.backend == "rest":
            restd, url, token = _restd(root)
            cluster = rest_clusters(url, token)
            what = "a simulated slurmrestd replaying recorded 26.05 JSON, in its own process"
        else:
            sim.install()
            sim.set_situation("healthy")
            cluster = cli_clusters(sim)
            what = "stand-in commands replaying recorded 22.05 output"
        print(
            f"# one daemon pinned to one core, {INTERVAL:g} s interval, backend {args.backend}: "
            f"{what}; {args.seconds:g} s per size; {machine()}"
        )
        base = r = None
        try:
            for n in args.clusters:
                r = run(n, args.seconds, root, cluster)
                base = base or r
                per_cluster_cpu = r["cpu"] / n * 100
                print(
                    f"{n:4d} clusters: on schedule {r['on_time'] * 100:5.1f}% (last-probe age "
                    f"p99 {r['age_p99']:.1f} s), rounds/cluster/interval "
                    f"{r['rounds_per_interval']:.2f}, /metrics bytes' age p99 "
                    f"{r['lag_p99']:.1f} s, CPU {r['cpu'] * 100:5.1f}% of a core "
                    f"({per_cluster_cpu:.2f}%/cluster), RSS {r['rss'] / 2**20:.0f} MiB"
                    + (
                        f"; CPU/cluster vs 1 cluster: {per_cluster_cpu / (base['cpu'] * 100):.2f}x"
                        if n != base["clusters"]
                        else " (baseline)"
                    )
                )
        finally:
            sim.close()
            if restd is not None:
                restd.terminate()
                restd.wait(10)
        if r is not None:
            summary = {
                "backend": args.backend,
                "clusters": r["clusters"],
                "on_schedule_ratio": round(r["on_time"], 4),
                "cpu_core_fraction": round(r["cpu"], 4),
                "rss_mib": round(r["rss"] / 2**20, 1),
                "last_probe_age_p99_seconds": round(r["age_p99"], 2),
                "exposition_lag_p99_seconds": round(r["lag_p99"], 2),
            }
            print(json.dumps(summary))


if __name__ == "__main__":
    main()

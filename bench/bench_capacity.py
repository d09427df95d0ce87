"""How many clusters one daemon keeps on schedule at a 10 s interval on one core, and its
RSS and CPU per cluster, on simulated clusters (stand-in commands replaying recorded 22.05
output without delays). The baseline is the same daemon with one cluster, same run.

    python -m bench.bench_capacity [--clusters 1 50 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import machine
from monitor.simulator.cluster import SimulatedCluster
from tests.support.daemon import DaemonProcess, free_port

INTERVAL = 10.0


def run(n: int, seconds: float, root: Path, sim: SimulatedCluster) -> dict[str, float]:
    port = free_port()
    config = root / f"capacity-{n}.toml"
    addresses = ", ".join(f'{h} = "{a}"' for h, a in sim.host_addresses().items())
    clusters = "".join(
        f'[[clusters]]\nname = "c{i:03d}"\nslurm_bin = "{sim.bin_dir}"\n'
        f'munge_bin = "{sim.bin_dir}"\nhost_addresses = {{ {addresses} }}\n'
        for i in range(n)
    )
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
        rss = 0
        while time.monotonic() - t0 < seconds:
            now = time.time()
            ages += [
                now - v
                for name, _, v in daemon.metrics()
                if name == "slurm_sla_last_probe_timestamp_seconds"
            ]
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
    return sum(
        v for name, _, v in daemon.metrics() if name == "slurm_sla_monitor_probe_rounds_total"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, nargs="+", default=[1, 50, 200])
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        root = Path(tmp)
        sim = SimulatedCluster(root / "sim")
        sim.install()
        sim.set_situation("healthy")
        print(
            f"# one daemon pinned to one core, {INTERVAL:g} s interval, simulated clusters "
            f"(recorded 22.05 output), {args.seconds:g} s per size; {machine()}"
        )
        base = None
        try:
            for n in args.clusters:
                r = run(n, args.seconds, root, sim)
                base = base or r
                per_cluster_cpu = r["cpu"] / n * 100
                print(
                    f"{n:4d} clusters: on schedule {r['on_time'] * 100:5.1f}% (last-probe age "
                    f"p99 {r['age_p99']:.1f} s), rounds/cluster/interval "
                    f"{r['rounds_per_interval']:.2f}, CPU {r['cpu'] * 100:5.1f}% of a core "
                    f"({per_cluster_cpu:.2f}%/cluster), RSS {r['rss'] / 2**20:.0f} MiB"
                    + (
                        f"; CPU/cluster vs 1 cluster: {per_cluster_cpu / (base['cpu'] * 100):.2f}x"
                        if n != base["clusters"]
                        else " (baseline)"
                    )
                )
        finally:
            sim.close()


if __name__ == "__main__":
    main()

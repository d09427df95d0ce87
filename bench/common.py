"""Shared pieces of the benchmarks: where the daemon runs (the simulated cluster or the real
lab), and percentiles. Every benchmark prints its numbers beside a baseline measured in the
same run."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from monitor.simulator.cluster import SimulatedCluster
from tests.support.daemon import DaemonProcess, free_port


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: Sequence[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:8.2f} ms  p99 {percentile(values, 99) * 1000:8.2f}"
        f" ms  n={len(values)}"
    )


def machine() -> str:
    import os
    import platform

    return (
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


class SimTarget:
    """The simulated cluster: stand-ins replaying the real recordings with their recorded
    durations (a frozen primary makes `scontrol ping` take its recorded ~10 s)."""

    name = "simulated cluster (recorded 22.05 output, recorded durations)"

    def __init__(self, root: Path) -> None:
        self.sim = SimulatedCluster(root / "sim", delays=True)
        self.sim.install()
        self.sim.set_situation("healthy")
        self.bin_dir = self.sim.bin_dir

    def cluster_toml(self) -> str:
        addresses = ", ".join(f'{h} = "{a}"' for h, a in self.sim.host_addresses().items())
        return (
            f'[[clusters]]\nname = "bench"\nslurm_bin = "{self.bin_dir}"\n'
            f'munge_bin = "{self.bin_dir}"\nhost_addresses = {{ {addresses} }}\n'
        )

    def freeze(self) -> None:
        self.sim.set_situation("primary-frozen")

    def thaw(self) -> None:
        self.sim.set_situation("healthy")

    def spawn(self, argv: list[str], **kwargs: object) -> subprocess.Popen:
        return subprocess.Popen(argv, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.sim.close()


class LabTarget:
    """The real HA cluster from tests/cluster (Debian, root). The daemon runs in this
    namespace and reaches the lab through its client wrappers (every command enters the
    lab's client host), so the benchmark's HTTP clients reach it on loopback. slurmdbd's port
    check needs the lab's own network, so these runs probe slurmctld only."""

    name = "real Slurm 22.05 HA cluster (tests/cluster)"

    def __init__(self, root: Path) -> None:
        from tests.cluster.lab import Lab

        self.lab = Lab()
        self.lab.start()
        self.bin_dir = self.lab.bin_dir

    def cluster_toml(self) -> str:
        return (
            f'[[clusters]]\nname = "bench"\nslurm_conf = "{self.lab.slurm_conf}"\n'
            f'slurm_bin = "{self.bin_dir}"\nmunge_bin = "{self.bin_dir}"\n'
            "accounting = false\n"
        )

    def freeze(self) -> None:
        self.lab.freeze("ctl1")

    def thaw(self) -> None:
        if self.lab.is_frozen("ctl1"):
            self.lab.thaw("ctl1")

    def spawn(self, argv: list[str], **kwargs: object) -> subprocess.Popen:
        env = {**self.lab.client_env(), **(kwargs.pop("env", None) or {})}  # type: ignore[dict-item]
        return subprocess.Popen(argv, env=env, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.lab.stop()


def make_target(kind: str, root: Path) -> SimTarget | LabTarget:
    return LabTarget(root) if kind == "lab" else SimTarget(root)


@contextlib.contextmanager
def daemon_on(
    target: SimTarget | LabTarget, root: Path, interval: float = 10, extra: str = ""
) -> Iterator[DaemonProcess]:
    port = free_port()
    config = root / "bench.toml"
    config.write_text(
        f'[monitor]\ninterval_seconds = {interval}\nlisten = "127.0.0.1:{port}"\n'
        f'state_dir = "{root}/state"\nlog_format = "json"\n{extra}' + target.cluster_toml()
    )
    daemon = DaemonProcess(config, port, spawn=target.spawn)
    try:
        daemon.wait_ready(timeout=60)
        yield daemon
    finally:
        daemon.stop()

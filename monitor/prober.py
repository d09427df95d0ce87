"""One cluster's probe rounds: which probes run, concurrently, and what they remember.

The fast probes (ping, the slurmdbd checks) decide a round. The slow ones (``sdiag``,
``scontrol show config``) take 9-12 s in some real failures; the daemon does not wait for
them: a slow probe still running is left to finish, and its result joins the next round.
Nothing here interprets results; :mod:`monitor.verdict` does.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from monitor.boundedread import read_bytes
from monitor.config import ClusterConfig, MonitorSettings
from monitor.errors import ParseError
from monitor.observation import LocalProcess
from monitor.parsers import parser_for
from monitor.probes import REGISTRY, SLOW_PROBES, ProbeResult, ProbeTarget
from monitor.probes.base import Clock, Runner, utc_now
from monitor.probes.process import check_process
from monitor.runner import FailureReason, run_command
from monitor.topology import Topology, topology_from
from monitor.verdict import ProbeRound


class ClusterProber:
    """Runs probe rounds for one cluster on a shared thread pool."""

    def __init__(
        self,
        cluster: ClusterConfig,
        settings: MonitorSettings,
        executor: ThreadPoolExecutor,
        *,
        run: Runner = run_command,
        clock: Clock = utc_now,
        local_check: Callable[[str], LocalProcess] = check_process,
        local_host: str | None = None,
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self._executor = executor
        self._clock = clock
        self._local_check = local_check
        self._local_host = local_host or socket.gethostname().split(".")[0]
        self._target = ProbeTarget(cluster, run=run, munge_socket=cluster.munge_socket)
        self.topology = Topology()
        self._set_topology(read_slurm_conf(cluster.slurm_conf))
        self._latest: dict[str, ProbeResult] = {}
        self._inflight: dict[str, Future[ProbeResult]] = {}
        self._lock = threading.Lock()
        self._learned: ProbeResult | None = None

    def round(self, *, wait_slow: bool = False) -> ProbeRound:
        """Run one round. ``wait_slow``: wait for every probe (the one-shot CLI does)."""
        observed_at = self._clock()
        names = self._probe_names()
        carried: set[str] = set()
        futures = {name: self._submit(name, carried) for name in names}
        fast = [f for n, f in futures.items() if wait_slow or n not in SLOW_PROBES]
        wait(fast)
        self._collect(skip=carried)
        self._learn(self._latest.get("show_config"))
        ping = self._latest.get("ping")
        if ping is not None and ping.reason is FailureReason.AUTH:
            self._latest["munge"] = self._run("munge")
        if self.cluster.accounting and self._target.dbd_endpoints:
            self._latest["dbd_listen"] = self._run("dbd_listen")
        local = {d: self._local_check(d) for d in self.cluster.local_daemons}
        return ProbeRound(
            self.cluster, observed_at, dict(self._latest), self.topology, local, self._local_host
        )

    def _probe_names(self) -> list[str]:
        names = ["ping", "show_config", "sdiag"]
        if self.cluster.accounting:
            names.append("dbd_ping" if self._supports_dbd_ping() else "dbd_stats")
            names.append("controlhost")
        return names

    def _supports_dbd_ping(self) -> bool:
        """``sacctmgr ping`` exists from Slurm 24.11; before, ``show stats`` stands in."""
        config = self._latest.get("show_config")
        version = getattr(config.data, "version", None) if config and config.data else None
        if not version:
            return False
        try:
            major, minor = (int(x) for x in str(version).split(".")[:2])
        except ValueError:
            return False
        return (major, minor) >= (24, 11)

    def _submit(self, name: str, carried: set[str]) -> Future[ProbeResult]:
        with self._lock:
            running = self._inflight.get(name)
            if running is not None:
                if not running.done():
                    return running  # a slow probe from an earlier round: never run it twice
                # It finished after the round that started it had moved on: this round
                # uses it (``carried``), and the new run's answer waits for the next round
                # even if it comes at once, so no run's result is replaced unread.
                self._latest[name] = running.result()
                carried.add(name)
            future = self._executor.submit(self._run, name)
            self._inflight[name] = future
            return future

    def _run(self, name: str) -> ProbeResult:
        slow = name in SLOW_PROBES or name == "ping"
        timeout = (
            self.settings.slow_command_timeout_seconds
            if slow
            else self.settings.command_timeout_seconds
        )
        try:
            return REGISTRY[name](self._target, timeout, self._clock)
        except Exception as exc:  # noqa: BLE001 - a probe bug must not stop the round
            return ProbeResult(
                name,
                self._clock(),
                0.0,
                None,
                FailureReason.COMMAND_FAILED,
                f"probe {name} crashed: {type(exc).__name__}: {exc}",
            )

    def _collect(self, skip: set[str]) -> None:
        with self._lock:
            for name, future in list(self._inflight.items()):
                if future.done() and name not in skip:
                    self._latest[name] = future.result()
                    del self._inflight[name]

    def _learn(self, result: ProbeResult | None) -> None:
        """What the controller runs with beats what slurm.conf says; keep the last known.
        A slow show config that finished after its round is learnt from in the next one."""
        if result is None or result is self._learned or result.data is None:
            return
        self._learned = result
        self._set_topology(topology_from(result.data.to_dict(), "show_config"))

    def _set_topology(self, topology: Topology) -> None:
        self.topology = topology
        self._target = replace(
            self._target,
            dbd_endpoints=topology.dbd,
            munge_socket=self.cluster.munge_socket or topology.munge_socket,
        )


def read_slurm_conf(path: Path | None) -> Topology:
    """The topology from slurm.conf, or an empty one if it cannot be read or parsed (then
    show config, once a controller answers, is the only source)."""
    if path is None:
        return Topology()
    try:
        text = read_bytes(path).decode("utf-8", errors="replace")
        return topology_from(parser_for("slurm-conf")(text).to_dict(), "slurm_conf")
    except (OSError, ParseError):
        return Topology()


def observe_once(
    cluster: ClusterConfig,
    settings: MonitorSettings,
    *,
    run: Runner = run_command,
    clock: Clock = utc_now,
) -> ProbeRound:
    """One complete round, waiting for every probe: ``slurm-sla probe``."""
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"probe-{cluster.name}") as pool:
        return ClusterProber(cluster, settings, pool, run=run, clock=clock).round(wait_slow=True)

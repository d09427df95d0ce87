"""One cluster's probe rounds: which probes run, concurrently, and what they remember.

Each service has its own lane of rounds: ping (with the slow ``sdiag`` and ``scontrol show
config``) decides slurmctld, the slurmdbd checks decide slurmdbd. A frozen controller makes
ping wait MessageTimeout (10 s); in its own lane that delays only slurmctld's verdict, never
slurmdbd's. The fast probes of a lane decide its round. The slow ones take 9-12 s in some
real failures; the daemon does not wait for them: a slow probe still running is left to
finish, and its result joins the lane's next round. Every round sees the latest result of
every probe (both lanes share them); nothing here interprets results: :mod:`monitor.verdict`
does.
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
from monitor.parsers.ping import PingReport
from monitor.parsers.show_config import SlurmConfig
from monitor.probes import ProbeResult, ProbeSpec, ProbeTarget, Trigger, Version, for_backend
from monitor.probes.base import Clock, Runner, utc_now
from monitor.probes.process import check_process
from monitor.probes.slurmctld import PING, SHOW_CONFIG
from monitor.reasons import Reason
from monitor.rest.client import RestClient
from monitor.runner import run_command
from monitor.topology import Topology, topology_from
from monitor.verdict import ProbeRound

_BLINDING = (Reason.AUTH, Reason.MISSING_BINARY)  # a ping failing so proves nothing


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
        rest: RestClient | None = None,
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self._executor = executor
        self._clock = clock
        self._local_check = local_check
        self._local_host = local_host or socket.gethostname().split(".")[0]
        if rest is None and cluster.backend == "rest" and cluster.rest is not None:
            rest = RestClient(cluster.rest)
        self._target = ProbeTarget(cluster, run=run, munge_socket=cluster.munge_socket, rest=rest)
        self._probes = for_backend("cli" if rest is None else "rest")
        self.topology = Topology()
        self._set_topology(read_slurm_conf(cluster.slurm_conf))
        self._latest: dict[str, ProbeResult] = {}
        self._inflight: dict[str, Future[ProbeResult]] = {}
        self._lock = threading.Lock()
        self._learned: ProbeResult | None = None

    def lanes(self) -> tuple[str, ...]:
        """The services this cluster's rounds decide, one lane each."""
        return ("slurmctld", "slurmdbd") if self.cluster.accounting else ("slurmctld",)

    def round(self, service: str | None = None, *, wait_slow: bool = False) -> ProbeRound:
        """Run one round of ``service``'s lane (every lane if None). ``wait_slow``: wait
        for every probe (the one-shot CLI does)."""
        lanes = self.lanes() if service is None else (service,)
        observed_at = self._clock()
        specs = self._specs(lanes)
        carried: set[str] = set()
        futures = {
            s.name: self._submit(s.name, carried) for s in specs if s.trigger is Trigger.ROUND
        }
        fast = [f for n, f in futures.items() if wait_slow or not self._probes[n].background]
        wait(fast)
        self._collect(skip=carried)
        with self._lock:
            config, ping = self._latest.get(SHOW_CONFIG.name), self._latest.get(PING.name)
        self._learn(config)
        if self._target.rest is not None:
            self._learn_controllers(ping)
        extra = {s.name: self._run(s.name) for s in specs if self._triggered(s.trigger)}
        local = {d: self._local_check(d) for d in self.cluster.local_daemons if d in lanes}
        # A probe of these lanes that this round did not plan no longer applies: one run
        # while the release was unknown (slurmdbd's diag before 24.11) must not keep
        # speaking (a refused diag made a 26.05 monitor blind in every later round).
        planned = {s.name for s in specs}
        with self._lock:
            self._latest.update(extra)
            results = {
                n: r
                for n, r in self._latest.items()
                if n in planned or self._probes[n].service not in lanes
            }
        return ProbeRound(
            self.cluster, observed_at, results, self.topology, local, self._local_host
        )

    def planned(self) -> frozenset[str]:
        """The probes a round of every lane would run now."""
        return frozenset(s.name for s in self._specs(self.lanes()))

    def _specs(self, lanes: tuple[str, ...]) -> list[ProbeSpec]:
        """The declared probes of these lanes that apply to this cluster and version."""
        version = self._version()
        return [
            s
            for s in self._probes.values()
            if s.service in lanes
            and (self.cluster.accounting or not s.accounting)
            and (not s.http_path or self.cluster.asks_readyz)
            and (not s.reaches_hosts or self._target.rest is None or self.cluster.asks_readyz)
            and s.applies(version)
        ]

    def _triggered(self, trigger: Trigger) -> bool:
        if trigger is Trigger.AUTH_FAILED:
            with self._lock:
                ping = self._latest.get(PING.name)
            return ping is not None and ping.reason is Reason.AUTH
        if trigger is Trigger.DBD_HOSTS_KNOWN:
            return bool(self._target.dbd_endpoints)
        if trigger is Trigger.PING_UNANSWERED:
            # No answer to read, not for a refused credential (that stays blind), and the
            # controllers known (slurm.conf, or an earlier ping through slurmrestd).
            with self._lock:
                ping = self._latest.get(PING.name)
            unanswered = ping is not None and ping.data is None and ping.reason not in _BLINDING
            return unanswered and bool(self._target.ctl_endpoints)
        return False

    def _version(self) -> Version | None:
        """The release series the controller said it runs (``show config``; through
        slurmrestd, the release its answers carry), if known."""
        with self._lock:
            config, ping = self._latest.get(SHOW_CONFIG.name), self._latest.get(PING.name)
        version = getattr(config.data, "version", None) if config and config.data else None
        version = version or (getattr(ping.data, "slurm_release", None) if ping else None)
        if not version:
            return None
        try:
            major, minor = (int(x) for x in str(version).split(".")[:2])
        except ValueError:
            return None
        return (major, minor)

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
        spec = self._probes[name]
        timeout = (
            self.settings.slow_command_timeout_seconds
            if spec.long_timeout
            else self.settings.command_timeout_seconds
        )
        if name == PING.name:
            # Ping must outwait Slurm itself, or no controller answering (a failback on
            # 24.11+, both frozen) looks like "the monitor timed out", not like an outage.
            timeout = max(timeout, self.topology.ping_seconds() or 0.0)
        try:
            return spec.run(self._target, timeout, self._clock)
        except Exception as exc:  # noqa: BLE001 - a probe bug must not stop the round
            return ProbeResult(
                name,
                self._clock(),
                0.0,
                None,
                Reason.COMMAND_FAILED,
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
        if result is None or result is self._learned or not isinstance(result.data, SlurmConfig):
            return
        self._learned = result
        self._set_topology(topology_from(result.data))

    def _learn_controllers(self, ping: ProbeResult | None) -> None:
        """Through slurmrestd there is no show config: the controllers are the ones its
        ping lists, on the configured port (for /readyz)."""
        if ping is None or not isinstance(ping.data, PingReport):
            return
        controllers = tuple((p.hostname, p.mode) for p in ping.data.pings)
        if controllers != self.topology.controllers:
            port = self.cluster.slurmctld_port
            self._set_topology(replace(self.topology, controllers=controllers, ctl_port=port))

    def _set_topology(self, topology: Topology) -> None:
        self.topology = topology
        self._target = replace(
            self._target,
            dbd_endpoints=topology.dbd,
            ctl_endpoints=tuple((r, h, topology.ctl_port) for h, r in topology.controllers),
            munge_socket=self.cluster.munge_socket or topology.munge_socket,
        )


def read_slurm_conf(path: Path | None) -> Topology:
    """The topology from slurm.conf, or an empty one if it cannot be read or parsed (then
    show config, once a controller answers, is the only source)."""
    if path is None:
        return Topology()
    try:
        text = read_bytes(path).decode("utf-8", errors="replace")
        return topology_from(parser_for("slurm-conf")(text))
    except (OSError, ParseError):
        return Topology()


def observe_once(
    cluster: ClusterConfig,
    settings: MonitorSettings,
    *,
    run: Runner = run_command,
    clock: Clock = utc_now,
) -> ProbeRound:
    """One complete round, waiting for every probe: ``slurm-sla probe``. When that round
    taught the release and the release has more surfaces (``sacctmgr ping`` on 24.11+,
    ``/readyz`` on 25.11+), one more round uses them, as the daemon's later rounds do."""
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"probe-{cluster.name}") as pool:
        prober = ClusterProber(cluster, settings, pool, run=run, clock=clock)
        planned = prober.planned()
        rnd = prober.round(wait_slow=True)
        if prober.planned() != planned:
            rnd = prober.round(wait_slow=True)
        return rnd

"""``slurm-sla run``: the daemon in the foreground, as systemd (Type=notify) runs it.

This is the composition root, the one place the core and the exporters meet: it builds the
daemon, the collectors and the HTTP endpoint, then handles signals. SIGTERM/SIGINT drain and
exit 0; SIGHUP reloads the config (validated first; the old one stays on error).
"""

from __future__ import annotations

import datetime as dt
import gc
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporters.collectors import register_all
from exporters.collectors.alerts import AlertCollector
from exporters.collectors.ha_views import PeerViewCollector
from exporters.collectors.peer_pulls import PeerPullCollector
from exporters.collectors.replica import ReplicaCollector
from exporters.collectors.shard import ShardCollector
from exporters.http import Health, MetricsServer
from exporters.web_config import WebConfig, load_web_config
from monitor.alerting.service import Alerting
from monitor.alertslot import AlertingSlot
from monitor.cli_args import COULD_NOT_RUN
from monitor.clock import MonotonicClock
from monitor.config import Config, load_config
from monitor.daemon import Daemon
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.ha.live import HaLive
from monitor.heldreload import reload_requested
from monitor.ledger.ledger import Ledger
from monitor.ledger.timebase import to_us
from monitor.logs import configure_logging
from monitor.sdnotify import Notifier
from monitor.snapshot import Snapshot
from monitor.statestore import open_state_store
from monitor.status.endpoint import StatusEndpoint
from monitor.store.db import Database
from monitor.store.lock import StateDirLock
from monitor.store.opening import state_dir_problem
from monitor.storeworker import StoreWorker

log = structlog.get_logger("slurm_sla_monitor")

# The cyclic collector's thresholds (Python's: 700, 10, 10). A round's objects live a few
# seconds and die by their reference counts, but at 700 allocations a young collection
# caught many alive and promoted them, and every few seconds a full collection scanned the
# whole heap: at 1,000 clusters 200-250 ms with the GIL held, every thread (probes, scrapes)
# waiting. Collected young cycles were 0 to 30 objects a time: larger young generations
# cost little memory. Measured with bench_scrape's fleet part (README, Benchmarks).
_GC_THRESHOLDS = (20_000, 20, 10)


DRAIN_SECONDS = 10.0  # how long a stop waits for the store to take what is queued


def probing_health(snapshot: Snapshot, now: dt.datetime, slow_timeout: float) -> Health:
    """Alive while the scheduler runs and every cluster was probed recently: what the
    systemd watchdog is fed on (a restart cures a stuck scheduler, never a bad disk)."""
    interval = float(snapshot.extras.get("interval_seconds", 10))
    limit = max(3 * interval, interval + slow_timeout + 5)
    stale = []
    for cluster in snapshot.clusters:
        last = cluster.last_probe_at or snapshot.started_at
        if (now - last).total_seconds() > limit:
            stale.append(cluster.name)
    problems = []
    if not snapshot.extras.get("scheduler_running", False):
        problems.append("scheduler not running")
    if stale:
        problems.append(f"no probe round for more than {limit:.0f} s: {', '.join(stale)}")
    return Health(
        not problems, {"problems": problems, "clusters": [c.name for c in snapshot.clusters]}
    )


def snapshot_health(
    snapshot: Snapshot,
    now: dt.datetime,
    slow_timeout: float,
    problems: Sequence[str] | None = None,
) -> Health:
    """``/healthz``: probing alive, and no other problem (the store's, given live in
    ``problems`` rather than as of the last round, or the snapshot's own)."""
    health = probing_health(snapshot, now, slow_timeout)
    extra = snapshot.problems if problems is None else problems
    found = [*health.detail["problems"], *extra]
    return Health(not found, {**health.detail, "problems": found})


class Service:
    """The running monitor: the store, the ledger, alerting, the daemon and the endpoint.

    The state directory's lock is the one thing that stops the start (another daemon
    holds it: a one-line error naming its PID). The store never does: when it cannot be
    opened, written or answers too slowly, the monitor keeps probing and serving metrics,
    reports the store unhealthy (log, ``slurm_sla_store_healthy``, ``/healthz`` 503), keeps
    the transitions in memory, in order, and writes them when the store comes back.
    """

    def __init__(self, config_path: Path, config: Config) -> None:
        self.config_path = config_path
        self.config = config
        # A state_dir that is a file can hold no lock: say so (a not-writable one is
        # left to the lock's fallback and the store's retries: a disk never stops probing).
        problem = state_dir_problem(config.monitor.state_dir)
        if problem and "not a directory" in problem:
            raise StoreError(problem)
        self.lock = StateDirLock.acquire(config.monitor.state_dir)
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.db: Database | None = None
        # One clock for every part: monotonic durations, wall-clock steps reported once
        # (the daemon logs and exports them), and the same "now" in the ledger, the alert
        # engine and /healthz.
        self.clock = MonotonicClock()
        retry = max(2.0, config.monitor.interval_seconds)  # opening a store that failed
        self.ledger = Ledger(
            config, self._database, close_database=False, retry_seconds=retry, clock=self.clock
        )
        self.ha = self._ha_live()  # before alerting: the engine calls its gate
        self.alerting = AlertingSlot(self._build_alerting, retry_seconds=retry)
        # The store thread writes the ledger, then runs the alert engine: a transition is
        # written before alerting acts on it, and no store I/O ever runs on a round thread.
        self.store = StoreWorker(self.ledger, [self.alerting])
        self.daemon = Daemon(
            config,
            self.registry,
            clock=self.clock,
            sinks=[self.store],
            sla_source=self.ledger.figures,
            store_status=self.store.status,
            problems=self.store.problems,
        )
        register_all(self.registry, self.daemon.box.get)
        # the outbox's times are on the monitor's clock: its age is measured on the same one
        self.registry.register(AlertCollector(self.alerting.status, clock=self.clock))
        self.registry.register(ReplicaCollector(lambda: self.config.ha))
        self.registry.register(ShardCollector(lambda: self.config))
        web = load_web(config)
        host, _, port = config.monitor.listen.rpartition(":")
        # /status reads the config through this object, so a reload applies at once.
        self.status = StatusEndpoint(
            lambda: self.config, self.daemon.box.get, lambda: to_us(self.clock())
        )
        self.server = MetricsServer(
            host or "0.0.0.0", int(port), self.registry, self._health, web, status=self.status,
            ledger=self._ledger_export(), view=self.ha.page if self.ha else None,
        )  # fmt: skip
        self.daemon.box.subscribe(self.server.metrics_changed)  # rendered per snapshot
        if self.ha is not None:
            self.registry.register(PeerViewCollector(self.ha.views, self.ha.gate))
        self.puller = self._peer_puller()
        if self.puller is not None:
            self.registry.register(PeerPullCollector(self.puller.status))
        self.notifier = Notifier()
        self._stop = threading.Event()
        self._reload = threading.Event()

    def _ledger_export(self):
        """HA: /ledger/export serves this replica's ledger records to its peers; the config
        is read at each request, so a reload applies (single-replica mode: no such page)."""
        if getattr(self.config, "ha", None) is None:
            return None
        from monitor.ledger.peers import ExportPage

        return ExportPage(
            lambda: self.config.monitor.state_dir,
            lambda: self.config.ha.replica if self.config.ha else "",
        )

    def _ha_live(self) -> HaLive | None:
        """HA: this replica's /ha/view, its peers' views, and the gate that withholds a
        Down page a peer contradicts (monitor.ha.gate)."""
        if getattr(self.config, "ha", None) is None:
            return None
        from monitor.ha.peer_auth import peer_auth

        def credentials() -> tuple[tuple[str, str] | None, bool | str]:
            found = peer_auth(self.config.ha)  # as the ledger pull's: env, else [ha]
            return found.auth, found.verify

        return HaLive(
            lambda: self.config,
            lambda: self.daemon.box.get(),
            lambda: self.daemon.lane_ages(),
            credentials,
        )

    def _peer_puller(self):
        """HA: pull the peers' ledgers into state_dir/peers, where the report merges them."""
        if getattr(self.config, "ha", None) is None:
            return None
        from monitor.ha.peer_auth import peer_auth
        from monitor.ledger.peers import PeerPuller

        return PeerPuller(
            lambda: self.config.ha.peers if self.config.ha else (),
            lambda: self.config.monitor.state_dir,
            credentials=lambda: peer_auth(self.config.ha),  # env, else [ha]: read each pass
        )

    def _database(self) -> Database:
        """The shared store, opened on first success (the ledger retries; the error names
        the cause: read-only, full, not writable)."""
        if self.db is None:
            self.db = open_state_store(self.config.monitor.state_dir)
        return self.db

    def _build_alerting(self) -> Alerting:
        return Alerting(
            self.config,
            self._database(),
            in_maintenance=self.ledger.in_maintenance,
            sla_source=self.ledger.figures,
            clock=self.clock,
            gate=self.ha.gate if self.ha else None,
        )

    def _health(self) -> Health:
        return snapshot_health(
            self.daemon.box.get(),
            self.clock(),
            self.config.monitor.slow_command_timeout_seconds,
            self.store.problems(),
        )

    def _alive(self) -> bool:
        return probing_health(
            self.daemon.box.get(),
            self.clock(),
            self.config.monitor.slow_command_timeout_seconds,
        ).ok

    def run(self) -> int:
        self._install_signals()
        gc.set_threshold(*_GC_THRESHOLDS)
        self.daemon.metrics.reload_ok.set(1)
        self.daemon.metrics.reload_time.set_to_current_time()
        self.server.start()
        if self.puller is not None:
            self.puller.start()
        if self.ha is not None:
            self.ha.start()
        self.store.start()
        self.daemon.start()
        self.alerting.start()
        log.info("http.listening", address=self.config.monitor.listen, port=self.server.port)
        self.notifier.ready(f"probing {len(self.config.clusters)} cluster(s)")
        watchdog = self.notifier.watchdog_interval()
        tick = min(watchdog, 1.0) if watchdog else 1.0
        store_seen = self.store.status()
        while not self._stop.wait(tick):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            store_now = self.store.status()
            if store_now.healthy != store_seen.healthy:
                self.daemon.publish()  # /metrics shows a stalled store now, not next round
            store_seen = store_now
            if watchdog and self._alive():
                self.notifier.watchdog()  # withheld when probing died: systemd restarts us
        self.notifier.stopping()
        log.info("daemon.draining")
        self.daemon.stop(wait=True)
        self.alerting.stop()
        if self.store.stop(DRAIN_SECONDS):
            self.ledger.close()
            if self.db is not None:
                self.db.close()
        if self.puller is not None:
            self.puller.stop()
        if self.ha is not None:
            self.ha.stop()
        self.server.stop()
        self.status.close()
        self.lock.release()
        return 0

    def reload(self) -> bool:
        self.notifier.reloading()
        try:
            new = load_config(self.config_path)
            web = load_web(new)  # part of the configuration: both valid, or neither swapped
        except ConfigError as exc:
            self.daemon.metrics.reload_ok.set(0)
            log.error("config.reload_failed", problems=exc.problems)
            self.notifier.ready("reload failed; old configuration kept")
            return False
        if new.monitor.listen != self.config.monitor.listen:
            log.warning("config.listen_change_needs_restart", listen=new.monitor.listen)
        self.config = new
        self.server.set_web_config(web)  # a rotated password stops working now
        self.ledger.reload(new)
        # The alert engine commits on a reload: on the store thread, so a frozen disk never
        # holds this loop (and with it the watchdog).
        self.store.call_soon(lambda: self.alerting.reload(new))
        self.daemon.reload(new)
        self.daemon.metrics.reload_ok.set(1)
        self.daemon.metrics.reload_time.set_to_current_time()
        self.notifier.ready(f"probing {len(new.clusters)} cluster(s)")
        return True

    def request_stop(self) -> None:
        self._stop.set()

    def _install_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("signal.received", signal=signal.Signals(signum).name)
            self._stop.set()

        def hup(signum: int, frame: FrameType | None) -> None:
            self._reload.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)
        if reload_requested():  # a SIGHUP while starting: apply it now
            self._reload.set()


def load_web(config: Config) -> WebConfig | None:
    """The web config ``config`` names (TLS, basic auth), validated; None when it names none."""
    path = config.monitor.web_config_file
    return load_web_config(path) if path else None


def run_service(config_path: Path, **kwargs: Any) -> int:
    config = load_config(config_path)
    as_json = configure_logging(config.monitor.log_format)
    try:
        return Service(config_path, config, **kwargs).run()
    except (MonitorError, OSError) as exc:
        if not as_json:
            raise  # a terminal: the CLI's one plain line
        # JSON lines are what reads this stream (the journal, a log shipper): the reason the
        # daemon could not run is one of them, not a plain line among them
        log.error("daemon.start_failed", error=_reason(exc))
        return COULD_NOT_RUN


def _reason(exc: Exception) -> str:
    if isinstance(exc, ConfigError):
        return "; ".join(exc.problems)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)

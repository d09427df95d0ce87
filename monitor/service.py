"""``slurm-sla run``: the daemon in the foreground, as systemd (Type=notify) runs it.

This is the composition root, the one place the core and the exporters meet: it builds the
daemon, the collectors and the HTTP endpoint, then handles signals. SIGTERM/SIGINT drain and
exit 0; SIGHUP reloads the config (validated first; the old one stays on error).
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporters.collectors import register_all
from exporters.collectors.alerts import AlertCollector
from exporters.http import Health, MetricsServer
from exporters.web_config import load_web_config
from monitor.alerting.service import Alerting
from monitor.config import Config, load_config
from monitor.daemon import Daemon
from monitor.errors import ConfigError
from monitor.ledger.ledger import Ledger
from monitor.logs import configure_logging
from monitor.sdnotify import Notifier
from monitor.snapshot import Snapshot, StoreStatus
from monitor.store.db import Database

log = structlog.get_logger("slurm_sla_monitor")


def snapshot_health(snapshot: Snapshot, now: dt.datetime, slow_timeout: float) -> Health:
    """Healthy while the scheduler runs and every cluster was probed recently."""
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
    problems += list(snapshot.problems)
    return Health(
        not problems, {"problems": problems, "clusters": [c.name for c in snapshot.clusters]}
    )


class Service:
    """The running monitor: the store, the ledger, alerting, the daemon and the endpoint.

    Opening the state store is the one failure that stops the start (a clear one-line
    error, exit 1, systemd retries): running without it would lose transitions and alerts
    silently. Later store failures are reported (log, metric, ``/healthz``) and retried.
    """

    def __init__(self, config_path: Path, config: Config) -> None:
        self.config_path = config_path
        self.config = config
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.db = Database.in_dir(config.monitor.state_dir)
        self.ledger = Ledger(config, lambda: self.db, close_database=False)
        self.alerting = Alerting(
            config,
            self.db,
            in_maintenance=self.ledger.in_maintenance,
            sla_source=self.ledger.figures,
        )
        # The ledger first: a transition is committed before anything acts on it.
        self.daemon = Daemon(
            config,
            self.registry,
            sinks=[self.ledger, self.alerting],
            sla_source=self.ledger.figures,
            store_status=self._store_status,
            problems=self.ledger.problems,
        )
        register_all(self.registry, self.daemon.box.get)
        self.registry.register(AlertCollector(self.alerting.status))
        web = (
            load_web_config(config.monitor.web_config_file)
            if config.monitor.web_config_file
            else None
        )
        host, _, port = config.monitor.listen.rpartition(":")
        self.server = MetricsServer(host or "0.0.0.0", int(port), self.registry, self._health, web)
        self.notifier = Notifier()
        self._stop = threading.Event()
        self._reload = threading.Event()

    def _store_status(self) -> StoreStatus:
        ledger = self.ledger
        return StoreStatus(
            ledger.healthy, ledger.pending_events, ledger.lost_events, ledger.last_error
        )

    def _health(self) -> Health:
        return snapshot_health(
            self.daemon.box.get(),
            dt.datetime.now(dt.UTC),
            self.config.monitor.slow_command_timeout_seconds,
        )

    def run(self) -> int:
        self._install_signals()
        self.daemon.metrics.reload_ok.set(1)
        self.daemon.metrics.reload_time.set_to_current_time()
        self.server.start()
        self.daemon.start()
        self.alerting.start()
        log.info("http.listening", address=self.config.monitor.listen, port=self.server.port)
        self.notifier.ready(f"probing {len(self.config.clusters)} cluster(s)")
        watchdog = self.notifier.watchdog_interval()
        tick = min(watchdog, 1.0) if watchdog else 1.0
        while not self._stop.wait(tick):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            if watchdog and self._health().ok:
                self.notifier.watchdog()  # withheld when unhealthy: systemd restarts us
        self.notifier.stopping()
        log.info("daemon.draining")
        self.daemon.stop(wait=True)
        self.alerting.stop()
        self.ledger.close()
        self.db.close()
        self.server.stop()
        return 0

    def reload(self) -> bool:
        self.notifier.reloading()
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            self.daemon.metrics.reload_ok.set(0)
            log.error("config.reload_failed", problems=exc.problems)
            self.notifier.ready("reload failed; old configuration kept")
            return False
        if new.monitor.listen != self.config.monitor.listen:
            log.warning("config.listen_change_needs_restart", listen=new.monitor.listen)
        self.config = new
        self.ledger.reload(new)
        self.alerting.reload(new)
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


def run_service(config_path: Path, **kwargs: Any) -> int:
    config = load_config(config_path)
    configure_logging(config.monitor.log_format)
    return Service(config_path, config, **kwargs).run()

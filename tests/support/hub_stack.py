"""The monitor as a user runs it, on the real lab: `slurm-sla run` on the lab's hub (where
it reaches every Slurm host, slurmdbd's port included) at the shipped defaults but for a
2 s interval, one webhook receiver on this namespace's loopback, the receiver's view of
every alert, and the ledger's incidents. Used by the alert-matrix and chaos tests.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.lab import Lab
from tests.cluster.netns import netns_path
from tests.support.daemon import DaemonProcess
from tests.support.nsbridge import NetnsBridge
from tests.support.receiver import Recorder

INTERVAL = 2.0  # the only [monitor] setting changed from the shipped defaults: speed
CONFIRM = 1.0  # shipped default confirm_interval_seconds
JITTER = 1.0  # shipped default jitter_seconds
# "Resolved within 2 intervals + confirm of recovery", plus the default jitter and the time
# the lab's own commands take through nsenter on a busy 2-core machine.
RESOLVE_BOUND = 2 * INTERVAL + CONFIRM + JITTER + 3.0


def config_text(lab: Lab, listen_port: int, hook_port: int, state_dir: Path,
                command_timeout: float = 5.0) -> str:
    return (
        "[monitor]\n"
        f"interval_seconds = {INTERVAL}\n"
        f"command_timeout_seconds = {command_timeout}\n"
        f'listen = "127.0.0.1:{listen_port}"\n'
        f'state_dir = "{state_dir}"\n'
        'log_format = "json"\n'
        "[[clusters]]\n"
        'name = "lab"\n'
        f'slurm_conf = "{lab.slurm_conf}"\n'
        # On the hub itself: the release's own clients (wrappers for a monitor on the hub).
        f'slurm_bin = "{lab.hub_bin_dir}"\n'
        f'munge_bin = "{lab.hub_bin_dir}"\n'
        "[[receivers]]\n"
        'name = "oncall"\n'
        'type = "webhook"\n'
        f'url = "http://127.0.0.1:{hook_port}/hook"\n'
    )


@dataclass(frozen=True)
class Notice:
    received: float  # time.time() at the receiver
    status: str  # firing | resolved
    alertname: str
    key: tuple[tuple[str, str], ...]  # the alert's labels: its identity
    payload: dict = field(compare=False, hash=False)


class HubStack:
    """The daemon on the hub, its receiver here, and what the receiver saw."""

    def __init__(self, lab: Lab, root: Path) -> None:
        self.lab = lab
        self.root = root
        self.bridge = NetnsBridge(netns_path("hub"))
        self.receiver = Recorder()
        hook_port = self.bridge.out_of(self.receiver.port)
        self.listen_port = self.bridge.free_port()
        self.metrics_port = self.bridge.into(self.listen_port)
        self.config = root / "config.toml"
        self.hook_port = hook_port
        self.state_dir = root / "state"
        self.write_config()
        self.daemon = self._spawn()

    def write_config(self, command_timeout: float = 5.0) -> None:
        self.config.write_text(config_text(self.lab, self.listen_port, self.hook_port,
                                           self.state_dir, command_timeout))

    def _spawn(self) -> DaemonProcess:
        log = self.root / f"daemon-{time.time():.0f}.log"
        return DaemonProcess(self.config, self.metrics_port, log=log,
                             spawn=self.lab.spawn_client)

    # -- the monitor ---------------------------------------------------------------------
    def sigkill_and_restart(self) -> float:
        t0 = time.monotonic()
        self.daemon.proc.kill()
        self.daemon.proc.wait()
        self.daemon.stop()
        self.daemon = self._spawn()
        self.daemon.wait_ready(60)
        return time.monotonic() - t0

    def reload(self, command_timeout: float) -> None:
        before = self.daemon.value("slurm_sla_config_last_reload_success_timestamp_seconds")
        self.write_config(command_timeout)
        self.daemon.signal(signal.SIGHUP)
        self.daemon.wait_until("the reload applied", lambda: (self.daemon.value(
            "slurm_sla_config_last_reload_success_timestamp_seconds") or 0) > (before or 0)
            and self.daemon.value("slurm_sla_config_last_reload_successful") == 1.0, 30)

    def rounds(self) -> float:
        return self.daemon.value("slurm_sla_monitor_probe_rounds_total", cluster="lab",
                                 service="slurmctld") or 0.0

    def wait_rounds(self, n: int, timeout: float = 60) -> None:
        start = self.rounds()
        self.daemon.wait_until(f"{n} more probe rounds", lambda: self.rounds() >= start + n,
                               timeout)

    # -- what the receiver saw -----------------------------------------------------------
    def notices(self) -> list[Notice]:
        out = []
        for request in self.receiver.on("/hook"):
            payload = json.loads(request["body"])
            at = request["received"]
            for alert in payload["alerts"]:
                labels = alert["labels"]
                out.append(Notice(at, alert["status"], labels["alertname"],
                                  tuple(sorted(labels.items())), alert))
        return out

    def firing_now(self) -> dict[tuple, Notice]:
        """Alerts whose last notice at the receiver says firing."""
        last: dict[tuple, Notice] = {}
        for n in self.notices():
            last[n.key] = n
        return {k: n for k, n in last.items() if n.status == "firing"}

    def fired_since(self, t: float) -> set[str]:
        """Alerts that started firing at the receiver at or after ``t``. A group's
        notification repeats the group's other firing alerts: those are not new."""
        state: dict[tuple, str] = {}
        started: set[str] = set()
        for n in self.notices():
            if n.status == "firing" and state.get(n.key) != "firing" and n.received >= t:
                started.add(n.alertname)
            state[n.key] = n.status
        return started

    def wait_firing(self, names: set[str], since: float, timeout: float) -> float:
        return self.daemon.wait_until(
            f"{sorted(names)} firing at the receiver (got {sorted(self.fired_since(since))})",
            lambda: names <= self.fired_since(since), timeout)

    def wait_all_resolved(self, timeout: float, but: Collection[str] = ()) -> float:
        """Every alert resolved at the receiver, except those named in ``but``."""
        return self.daemon.wait_until(
            "every alert resolved at the receiver",
            lambda: not [n for n in self.firing_now().values() if n.alertname not in but],
            timeout, interval=0.05)

    def close(self) -> None:
        self.daemon.stop()
        self.receiver.close()
        self.bridge.close()

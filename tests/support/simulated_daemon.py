"""The real daemon on the simulated cluster, for the integration tests: its config (quick
rounds and confirmation, JSON logs, the simulator's bin dir), a stand-in for systemd's notify
socket, and a reading of a daemon's state from its /metrics."""

from __future__ import annotations

import socket
import threading

from monitor.simulator.cluster import SimulatedCluster
from tests.support.daemon import DaemonProcess

INTERVAL, CONFIRM = 2.0, 0.5


def write_config(path, sim: SimulatedCluster, port: int, interval: float = INTERVAL,
                 extra: str = "") -> None:
    addresses = ", ".join(f'{h} = "{a}"' for h, a in sim.host_addresses().items())
    path.write_text(
        "[monitor]\n"
        f"interval_seconds = {interval}\nconfirm_interval_seconds = {CONFIRM}\n"
        "jitter_seconds = 0\nfailure_threshold = 2\nrecovery_threshold = 2\n"
        f'listen = "127.0.0.1:{port}"\nstate_dir = "{path.parent}/state"\n'
        'log_format = "json"\n'
        "[[clusters]]\n"
        'name = "sim"\n'
        f'slurm_bin = "{sim.bin_dir}"\nmunge_bin = "{sim.bin_dir}"\n'
        f"host_addresses = {{ {addresses} }}\n" + extra
    )


class NotifyListener:
    """A stand-in for systemd's notify socket that keeps reading, as systemd does."""

    def __init__(self, path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages += self._sock.recv(4096).decode().split("\n")
            except (TimeoutError, OSError):
                continue

    def count(self, message: str) -> int:
        return self.messages.count(message)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


def state(d: DaemonProcess, host: str, value: str) -> bool:
    return d.value("slurm_daemon_state", host=host, state=value) == 1.0

"""Run the real `slurm-sla run` as a process and read its /metrics, for tests and benches."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def free_port() -> int:
    """A port nothing holds on loopback (TCP and UDP: Alertmanager gossips on both), drawn
    at random from below the kernel's ephemeral range. A port the kernel picks (a bind to
    0) comes from the range it also gives outgoing connections, and on a busy machine one
    was handed to a client before the server meant for it bound it ("bind: address
    already in use", an Alertmanager's gossip port in a CI run)."""
    low = _ephemeral_low()
    draw = random.SystemRandom()
    for _ in range(500):
        port = draw.randrange(10_000, low)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port found in 10000-{low - 1}")


def _ephemeral_low() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default
    return low if low > 11_000 else 32768


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            labels = dict(_LABEL.findall(m.group("labels") or ""))
            out.append((m.group("name"), labels, float(m.group("value"))))
    return out


class DaemonProcess:
    """`python -m monitor run --config FILE`, started by `argv_prefix` (e.g. nsenter)."""

    def __init__(self, config: Path, port: int, *, argv_prefix: Sequence[str] = (),
                 env: dict[str, str] | None = None, log: Path | None = None,
                 spawn: Callable[..., subprocess.Popen] | None = None) -> None:
        self.config, self.port = config, port
        self.log = log or config.with_suffix(".log")
        argv = [*argv_prefix, sys.executable, "-m", "monitor", "run", "--config", str(config)]
        self._log_file = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        kwargs = {"stdout": self._log_file, "stderr": subprocess.STDOUT,
                  "env": {**os.environ, **(env or {})}}
        self.proc = spawn(argv, **kwargs) if spawn else subprocess.Popen(argv, **kwargs)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 5) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        return parse_metrics(self.get("/metrics")[1])

    def value(self, name: str, **labels: str) -> float | None:
        for n, lab, v in self.metrics():
            if n == name and all(lab.get(k) == val for k, val in labels.items()):
                return v
        return None

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float,
                   interval: float = 0.1) -> float:
        """Seconds until ``check()`` holds; AssertionError with the log tail otherwise."""
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode} waiting for {what}:"
                                     f"\n{self.tail()}")
            with contextlib.suppress(OSError):
                if check():
                    return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}\n"
                                     f"{self.tail()}")
            time.sleep(interval)

    def wait_ready(self, timeout: float = 30) -> None:
        self.wait_until("/healthz 200", lambda: self.get("/healthz", 2)[0] == 200, timeout)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        return self.proc.returncode


@contextlib.contextmanager
def running_daemon(config: Path, port: int, **kwargs: object) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(config, port, **kwargs)  # type: ignore[arg-type]
    try:
        yield daemon
    finally:
        daemon.stop()

"""The HTTP endpoint alone, in its own process, as Prometheus meets it: its own interpreter
and GIL, so a test's clients measure the server and not their competition for one GIL.

``python -m tests.support.metrics_server [WEB_CONFIG]`` prints the port on one line, serves
until its standard input closes, and exits.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge

from exporters.http import Health, MetricsServer
from exporters.web_config import load_web_config


class ServerProcess:
    def __init__(self, web: Path | None = None) -> None:
        argv = [sys.executable, "-m", "tests.support.metrics_server", *([str(web)] if web else [])]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the server process exited {self.proc.wait()}")
        self.port = int(line)

    def threads(self) -> int:
        """The process's thread count, from /proc (every thread, not only Python's)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise AssertionError("no Threads: line")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    registry = CollectorRegistry()
    Gauge("slurm_test_value", "a value", ["n"], registry=registry).labels("1").set(7)
    web = load_web_config(Path(sys.argv[1])) if len(sys.argv) > 1 else None
    server = MetricsServer("127.0.0.1", 0, registry, lambda: Health(True, {}), web)
    server.start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()

"""``slurm-sla demo``: the real daemon on embedded defaults, against a simulated HA cluster.

Everything but Slurm is real: the daemon, its SQLite ledger in a temporary state directory,
``/metrics``, the alert engine and its outbox delivering to a webhook receiver in this
process (which prints each notice), and the monthly report at the end. Slurm is replaced by
stand-in executables replaying output recorded from a real Slurm 22.05 HA cluster
(:mod:`monitor.simulator`), following a compressed script of incidents. ``--real`` runs the
same script against the real test cluster of ``tests/cluster`` (Debian, root, a checkout).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from monitor.simulator.cluster import SimulatedCluster


@dataclass(frozen=True)
class Step:
    situation: str
    share: float  # of the demo's duration
    says: str


SCRIPT: tuple[Step, ...] = (
    Step("healthy", 0.12, "all daemons up"),
    Step(
        "primary-killed",
        0.14,
        "primary slurmctld killed: the backup takes over (a failover, not an outage)",
    ),
    Step("healthy", 0.10, "primary back: failback"),
    Step("both-killed", 0.12, "both slurmctld killed: no controller (an outage)"),
    Step("healthy", 0.10, "controllers restored"),
    Step(
        "both-dbd-killed",
        0.12,
        "both slurmdbd killed, inside a planned maintenance window (silenced, not counted)",
    ),
    Step("healthy", 0.08, "slurmdbd restored"),
    Step(
        "munge-down",
        0.12,
        "munge broken on the monitor's host: the monitor is blind (unknown, never down)",
    ),
    Step("healthy", 0.10, "munge restored: recovery"),
)


class _AlertPrinter:
    """A webhook receiver on loopback that prints every notice it gets."""

    def __init__(self, out: TextIO) -> None:
        printer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                printer.show(json.loads(body or b"{}"))

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._out = out
        self.received: list[dict[str, Any]] = []
        self._shown: dict[str, str] = {}  # fingerprint -> status last printed
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> None:
        self._thread.start()

    def show(self, payload: dict[str, Any]) -> None:
        for alert in payload.get("alerts", []):
            # A group notice lists every alert of the group: print only what changed.
            key, status = alert.get("fingerprint", ""), alert.get("status", "?")
            if self._shown.get(key) == status:
                continue
            self._shown[key] = status
            self.received.append(alert)
            labels = alert.get("labels", {})
            what = ", ".join(
                f"{k}={labels[k]}" for k in ("service", "host", "role") if labels.get(k)
            )
            status = status.upper()
            summary = alert.get("annotations", {}).get("summary", "")
            print(
                f"  [{_now()}] ALERT {status:8s} {labels.get('alertname')} "
                f"({labels.get('severity')}) {what}: {summary}",
                file=self._out,
                flush=True,
            )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%H:%M:%S")


def write_config(
    path: Path,
    sim: SimulatedCluster,
    state_dir: Path,
    listen: str,
    hook: str,
    maintenance: tuple[dt.datetime, dt.datetime],
) -> None:
    addresses = ", ".join(f'{h} = "{a}"' for h, a in sim.host_addresses().items())
    start, end = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in maintenance)
    path.write_text(f"""# slurm-sla demo: a SIMULATED cluster (recorded Slurm 22.05 output)
[monitor]
interval_seconds = 2
confirm_interval_seconds = 0.5
failure_threshold = 2
recovery_threshold = 2
jitter_seconds = 0
listen = "{listen}"
state_dir = "{state_dir}"
log_format = "json"

[[clusters]]
name = "demo"
slurm_bin = "{sim.bin_dir}"
munge_bin = "{sim.bin_dir}"
host_addresses = {{ {addresses} }}

[[maintenance]]
start = {start}
end = {end}
clusters = ["demo"]
services = ["slurmdbd"]
reason = "demo: planned slurmdbd maintenance"

[alerts]
group_wait_seconds = 0

[[receivers]]
name = "demo-printer"
type = "webhook"
url = "{hook}"
""")


def run_demo(
    duration: float,
    listen: str,
    out_dir: Path | None,
    out: TextIO = sys.stdout,
    report: Callable[[Path, Path], list[Path]] | None = None,
) -> int:
    from monitor.config import load_config
    from monitor.logs import configure_logging
    from monitor.service import Service

    work = Path(tempfile.mkdtemp(prefix="slurm-sla-demo-"))
    out_dir = out_dir or work / "reports"
    sim = SimulatedCluster(work / "sim")
    sim.install()
    sim.set_situation("healthy")
    printer = _AlertPrinter(out)
    printer.start()
    # The maintenance window covers the slurmdbd outage step, with a margin either side.
    begin = dt.datetime.now(dt.UTC)
    offsets = _offsets(duration)
    dbd_start, dbd_end = offsets["both-dbd-killed"]
    window = (
        begin + dt.timedelta(seconds=dbd_start - 3),
        begin + dt.timedelta(seconds=dbd_end + 6),
    )
    config_path = work / "config.toml"
    write_config(config_path, sim, work / "state", listen, printer.url, window)
    log_file = (work / "daemon.log").open("w")
    configure_logging("json", stream=log_file)
    service = Service(config_path, load_config(config_path))
    print(
        f"SIMULATION: slurm-sla demo runs the real monitor against a simulated Slurm HA "
        f"cluster\n  (stand-in commands replaying output recorded from a real Slurm 22.05 "
        f"cluster; {work / 'sim'}).\n"
        f"  metrics:  http://{_display(listen, service.server.port)}/metrics\n"
        f"  state:    {work / 'state'}\n  log:      {work / 'daemon.log'}\n"
        f"  duration: about {duration:.0f} s\n",
        file=out,
        flush=True,
    )
    driver = threading.Thread(target=_drive, args=(sim, service, duration, out), daemon=True)
    driver.start()
    rc = service.run()
    printer.stop()
    sim.close()
    log_file.close()
    written = report(config_path, out_dir) if report else []
    fired = sum(1 for a in printer.received if a.get("status") == "firing")
    resolved = sum(1 for a in printer.received if a.get("status") == "resolved")
    print(
        f"\nSIMULATION finished: {fired} firing and {resolved} resolved notices delivered.",
        file=out,
    )
    for path in written:
        print(f"  report: {path}", file=out)
    return rc


def _offsets(duration: float) -> dict[str, tuple[float, float]]:
    out, t = {}, 0.0
    for step in SCRIPT:
        length = step.share * duration
        out.setdefault(
            step.situation if step.situation != "healthy" else f"healthy@{t:.0f}", (t, t + length)
        )
        t += length
    return out


def _drive(sim: SimulatedCluster, service: Any, duration: float, out: TextIO) -> None:
    for step in SCRIPT:
        sim.set_situation(step.situation)
        print(f"[{_now()}] SIMULATION step: {step.situation}: {step.says}", file=out, flush=True)
        time.sleep(step.share * duration)
    time.sleep(2)  # let the last resolved notices go out
    service.request_stop()


def _display(listen: str, port: int) -> str:
    host = listen.rpartition(":")[0]
    return f"{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"

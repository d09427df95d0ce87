"""``slurm-sla demo``: the real daemon on embedded defaults, against a simulated HA cluster.

Everything but Slurm is real: the daemon, its SQLite ledger in a temporary state directory,
``/metrics``, the alert engine and its outbox delivering to a webhook receiver in this
process (which prints each notice), and the monthly report at the end. Slurm is replaced by
stand-in executables replaying output recorded from a real Slurm 22.05 HA cluster
(:mod:`monitor.simulator`), following a compressed script of incidents. ``--real`` runs the
same script against the real test cluster of ``tests/cluster`` (Debian, root, a checkout):
the checkout's driver supplies that cluster as the demo's :class:`DemoTarget`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, Protocol, TextIO

from monitor.errors import UsageError
from monitor.simulator.cluster import SimulatedCluster, recordings_dir
from monitor.simulator.restd import TOKEN, SimulatedRestd


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
    cluster_toml: str,
    state_dir: Path,
    listen: str,
    hook: str,
    maintenance: tuple[dt.datetime, dt.datetime],
) -> None:
    start, end = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in maintenance)
    path.write_text(f"""# slurm-sla demo
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
{cluster_toml}
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


class _Simulated:
    """The default: stand-ins replaying recorded output (no Slurm needed)."""

    banner = (
        "SIMULATION: slurm-sla demo runs the real monitor against a simulated Slurm HA "
        "cluster\n  (stand-in commands replaying output recorded from a real Slurm "
        "22.05 cluster)"
    )
    tag = "SIMULATION"

    def __init__(self, work: Path) -> None:
        self.sim = SimulatedCluster(work / "sim")
        self.sim.install()
        self.sim.set_situation("healthy")

    def cluster_toml(self) -> str:
        addresses = ", ".join(f'{h} = "{a}"' for h, a in self.sim.host_addresses().items())
        return (
            f'slurm_bin = "{self.sim.bin_dir}"\nmunge_bin = "{self.sim.bin_dir}"\n'
            f"host_addresses = {{ {addresses} }}\n"
        )

    def covers(self, situation: str) -> bool:
        return True

    def enter(self, situation: str) -> None:
        self.sim.set_situation(situation)

    def close(self) -> None:
        self.sim.close()


class _SimulatedRest:
    """``--backend rest``: the same story through a simulated slurmrestd (real HTTP,
    replaying JSON recorded on a real Slurm 26.05 HA cluster)."""

    banner = (
        "SIMULATION: slurm-sla demo runs the real monitor against a simulated slurmrestd\n"
        "  (HTTP answers replaying JSON recorded from a real Slurm 26.05 HA cluster; the\n"
        "  blind step is a rejected token)"
    )
    tag = "SIMULATION"
    says = {
        "munge-down": "slurmrestd rejects the monitor's token: the monitor is blind "
        "(unknown, never down)",
    }

    def __init__(self, work: Path) -> None:
        self.situation = "healthy"
        self.token = work / "slurmrestd.jwt"
        self.token.write_text(TOKEN + "\n")
        self.restd = SimulatedRestd(recordings_dir(), lambda _: self.situation).start()

    def cluster_toml(self) -> str:
        return f'backend = "rest"\nurl = "{self.restd.url}"\ntoken_file = "{self.token}"\n'

    def covers(self, situation: str) -> bool:
        return True

    def enter(self, situation: str) -> None:
        self.situation = situation

    def close(self) -> None:
        self.restd.close()


BACKENDS: dict[str, Callable[[Path], DemoTarget]] = {}


class DemoTarget(Protocol):
    """What the demo's script drives: the simulated cluster here, or the real test lab that
    a checkout supplies (``tests/support/real_demo.py``, for ``--real``)."""

    banner: str
    tag: str

    def cluster_toml(self) -> str: ...

    def covers(self, situation: str) -> bool: ...

    def enter(self, situation: str) -> None: ...

    def close(self) -> None: ...


BACKENDS.update(cli=_Simulated, rest=_SimulatedRest)


# ``--real``: the real HA cluster is the test lab of a source checkout. The package imports
# nothing from the test tree: this process becomes the checkout's driver, which runs this
# same demo with the lab as its target.
REAL_DRIVER = Path("tests/support/real_demo.py")
REAL_NEEDS_CHECKOUT = (
    "--real needs a source checkout (tests/cluster), run from its top directory, on Debian as root"
)


def become_real_demo(duration: float, listen: str, out_dir: Path | None) -> NoReturn:
    """Replace this process with the checkout's ``--real`` driver (same arguments, same
    output and exit code); :class:`UsageError` outside a checkout's top directory."""
    if not REAL_DRIVER.is_file():
        raise UsageError(REAL_NEEDS_CHECKOUT)
    argv = [sys.executable, "-m", "tests.support.real_demo", "--duration", repr(duration)]
    argv += ["--listen", listen] + (["--output", str(out_dir)] if out_dir else [])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


# Where the reports go without --output: the demo's own directory is removed on exit, and
# the report is what a user wants to open afterwards.
DEFAULT_REPORTS = Path("slurm-sla-demo-reports")


def run_demo(
    duration: float,
    listen: str,
    out_dir: Path | None,
    out: TextIO = sys.stdout,
    report: Callable[[Path, Path], list[Path]] | None = None,
    target: Callable[[Path], DemoTarget] | None = None,
) -> int:
    """The script against ``target`` (made in the demo's scratch directory; default: the
    simulated cluster)."""
    out_dir = (out_dir or DEFAULT_REPORTS).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)  # an unwritable place fails now, not at the end
    with _terminate_as_interrupt(), _scratch_dir() as work:
        return _run(duration, listen, out_dir, work, out, report, target or _Simulated)


@contextmanager
def _scratch_dir() -> Iterator[Path]:
    """The demo's state, log and stand-ins, removed however the demo ends (a failure,
    Ctrl-C, SIGTERM): every run used to leave a /tmp/slurm-sla-demo-* behind."""
    work = Path(tempfile.mkdtemp(prefix="slurm-sla-demo-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the scratch directory is removed; by default it
    would end the process on the spot. (While the daemon runs, its own SIGTERM/SIGINT
    handler drains it instead, and the demo then ends normally.)"""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(
    duration: float,
    listen: str,
    out_dir: Path,
    work: Path,
    out: TextIO,
    report: Callable[[Path, Path], list[Path]] | None,
    make_target: Callable[[Path], DemoTarget],
) -> int:
    from monitor.config import load_config
    from monitor.logs import configure_logging
    from monitor.service import Service

    target = make_target(work)
    steps = [step for step in SCRIPT if target.covers(step.situation)]
    printer = _AlertPrinter(out)
    printer.start()
    try:
        # The maintenance window covers the slurmdbd outage step, with a margin either side.
        begin = dt.datetime.now(dt.UTC)
        dbd_start, dbd_end = _offsets(steps, duration).get("both-dbd-killed", (-60.0, -30.0))
        window = (
            begin + dt.timedelta(seconds=dbd_start - 3),
            begin + dt.timedelta(seconds=dbd_end + 6),
        )
        config_path = work / "config.toml"
        write_config(
            config_path, target.cluster_toml(), work / "state", listen, printer.url, window
        )
        with (work / "daemon.log").open("w") as log_file:
            configure_logging("json", stream=log_file)
            service = Service(config_path, load_config(config_path))
            address = _display(listen, service.server.port)
            print(
                f"{target.banner}.\n"
                f"  metrics:  http://{address}/metrics\n"
                f"  status:   http://{address}/status (and /status.json)\n"
                f"  state:    {work / 'state'} (removed on exit)\n"
                f"  log:      {work / 'daemon.log'} (removed on exit)\n"
                f"  reports:  {out_dir}\n"
                f"  duration: about {duration:.0f} s\n",
                file=out,
                flush=True,
            )
            driver = threading.Thread(
                target=_drive, args=(target, steps, service, duration, out), daemon=True
            )
            driver.start()
            rc = service.run()
        written = report(config_path, out_dir) if report else []
    finally:
        printer.stop()
        target.close()
    fired = sum(1 for a in printer.received if a.get("status") == "firing")
    resolved = sum(1 for a in printer.received if a.get("status") == "resolved")
    print(
        f"\n{target.tag} finished: {fired} firing and {resolved} resolved notices delivered.",
        file=out,
    )
    for path in written:
        print(f"  report: {path}", file=out)
    return rc


def _offsets(steps: list[Step], duration: float) -> dict[str, tuple[float, float]]:
    out, t = {}, 0.0
    for step in steps:
        length = step.share * duration / sum(s.share for s in steps)
        out.setdefault(step.situation, (t, t + length))
        t += length
    return out


def _drive(
    target: DemoTarget, steps: list[Step], service: Any, duration: float, out: TextIO
) -> None:
    total = sum(s.share for s in steps)
    for step in steps:
        t0 = time.monotonic()
        target.enter(step.situation)
        says = getattr(target, "says", {}).get(step.situation, step.says)
        print(f"[{_now()}] {target.tag} step: {step.situation}: {says}", file=out, flush=True)
        time.sleep(max(0.0, step.share * duration / total - (time.monotonic() - t0)))
    time.sleep(2)  # let the last resolved notices go out
    service.request_stop()


def _display(listen: str, port: int) -> str:
    host = listen.rpartition(":")[0]
    return f"{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"

"""/metrics latency under 50 concurrent scrapers, Slurm healthy and slurmctld frozen,
against the usual exporter design that runs sdiag at scrape time (the baseline, a few lines
below, served the same way on the same machine in the same run).

    python -m bench.bench_scrape [--target sim|lab] [--scrapers 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import daemon_on, machine, make_target, percentile, summary
from tests.support.daemon import free_port


class ScrapeTimeExporter:
    """The baseline: an exporter that runs `sdiag` when scraped, as most Slurm exporters
    do. It runs where the Slurm commands work (through the target's spawn)."""

    def __init__(self, target, sdiag: str) -> None:
        self.port = free_port()
        code = (
            "import subprocess, sys\n"
            "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n"
            "class H(BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            f"        r = subprocess.run([{sdiag!r}], capture_output=True, timeout=60)\n"
            "        body = b'# sdiag\\n' + r.stdout[:100]\n"
            "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
            "        self.end_headers(); self.wfile.write(body)\n"
            "    def log_message(self, *a): pass\n"
            f"s = ThreadingHTTPServer(('127.0.0.1', {self.port}), H); s.daemon_threads = True\n"
            "s.serve_forever()\n"
        )
        import sys

        self.proc = target.spawn(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=60).read()
                return
            except OSError:
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def hammer(url: str, scrapers: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                urllib.request.urlopen(url, timeout=60).read()
                ok = True
            except OSError:
                ok = False
            took = time.monotonic() - t0
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    errors += 1

    threads = [threading.Thread(target=worker) for _ in range(scrapers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", choices=("sim", "lab"), default="sim")
    ap.add_argument("--scrapers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scrape-") as tmp:
        root = Path(tmp)
        target = make_target(args.target, root)
        try:
            print(
                f"# /metrics under {args.scrapers} concurrent scrapers, {args.seconds:g} s "
                f"each; {target.name}; {machine()}"
            )
            with daemon_on(target, root, interval=10) as daemon:
                baseline = ScrapeTimeExporter(target, str(target.bin_dir / "sdiag"))
                try:
                    rows = []
                    for label, prepare in (("healthy", target.thaw), ("frozen", target.freeze)):
                        prepare()
                        time.sleep(2)
                        ours, e1 = hammer(daemon.url + "/metrics", args.scrapers, args.seconds)
                        base, e2 = hammer(baseline.url, args.scrapers, args.seconds)
                        rows.append((label, ours, e1, base, e2))
                    target.thaw()
                finally:
                    baseline.close()
            for label, ours, e1, base, e2 in rows:
                ratio = (
                    percentile(base, 50) / percentile(ours, 50) if ours and base else float("nan")
                )
                print(f"slurm {label:8s} ours:     {summary(ours)}  errors={e1}")
                print(
                    f"slurm {label:8s} baseline: {summary(base)}  errors={e2}  "
                    f"(sdiag at scrape time; p50 ratio baseline/ours = {ratio:.1f}x)"
                )
        finally:
            target.close()


if __name__ == "__main__":
    main()

"""/metrics latency under 50 concurrent scrapers, Slurm healthy and slurmctld frozen,
against the usual exporter design that runs sdiag at scrape time (the baseline, a few lines
below, served the same way on the same machine in the same run). Then ``/metrics`` at fleet
size: one daemon with ``--fleet`` simulated REST clusters (default 1,000), one scraper at a
time, against the baseline of rendering at scrape time (the daemon's own render time, read
from ``slurm_sla_monitor_metrics_render_seconds`` in the same run).

    python -m bench.bench_scrape [--target sim|lab] [--scrapers 50] [--seconds 10] [--fleet N]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.common import daemon_on, machine, make_target, percentile, summary
from tests.support.daemon import DaemonProcess, free_port


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
    """``scrapers`` clients scraping back to back for ``seconds``, each on its own
    keep-alive connection as Prometheus does (reopened when the server closes it)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    parts = urllib.parse.urlsplit(url)

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                conn.request("GET", parts.path, headers={"Accept-Encoding": "gzip"})
                conn.getresponse().read()
                ok = True
            except (OSError, http.client.HTTPException):
                conn.close()
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


def scrape_once(port: int) -> tuple[float, int]:
    """Seconds from sending the request to the last byte of the answer, and its size."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.connect()
        t0 = time.perf_counter()
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})  # as Prometheus
        body = conn.getresponse().read()
        return time.perf_counter() - t0, len(body)
    finally:
        conn.close()


def fleet_scrape(n: int, scrapes: int) -> None:
    """One scrape at a time of a daemon watching ``n`` simulated REST clusters, once every
    cluster is in its snapshot."""
    from bench.bench_capacity import _pinned, _restd, rest_clusters

    with tempfile.TemporaryDirectory(prefix="bench-fleet-scrape-") as tmp:
        root = Path(tmp)
        restd, url, token = _restd(root)
        port = free_port()
        config = root / "fleet.toml"
        cluster = rest_clusters(url, token)
        config.write_text(
            f'[monitor]\ninterval_seconds = 10\nlisten = "127.0.0.1:{port}"\n'
            f'state_dir = "{root}/state"\nlog_format = "json"\nmax_workers = 16\n'
            "jitter_seconds = 5\n" + "".join(cluster(i) for i in range(n))
        )
        daemon = DaemonProcess(config, port, spawn=_pinned)  # one core, as in capacity
        try:
            daemon.wait_ready(120)
            probed = b"slurm_sla_last_probe_timestamp_seconds{"
            daemon.wait_until(
                f"all {n} clusters probed",
                lambda: _count(port, probed) >= n,
                timeout=180,
                interval=2,
            )
            times, size = [], 0
            for _ in range(scrapes):
                took, size = scrape_once(port)
                times.append(took)
                time.sleep(0.5)
            render = daemon.value("slurm_sla_monitor_metrics_render_seconds") or float("nan")
            period = daemon.value("slurm_sla_monitor_metrics_render_period_seconds")
        finally:
            daemon.stop()
            restd.terminate()
            restd.wait(10)
    p50, p99 = percentile(times, 50), percentile(times, 99)
    print(
        f"{n} clusters, one scraper: {summary(times)}, {size / 2**20:.1f} MiB a scrape (gzip)  "
        f"(target < 50 ms)"
    )
    print(
        f"{n} clusters, baseline (rendered at scrape time, as before): {render * 1000:.0f} ms "
        f"a scrape: p50 ratio baseline/ours = {render / p50:.1f}x; renders in the background "
        f"at most every {period or float('nan'):.1f} s"
    )
    print(
        json.dumps(
            {
                "fleet_clusters": n,
                "scrape_p50_ms": round(p50 * 1000, 2),
                "scrape_p99_ms": round(p99 * 1000, 2),
                "render_at_scrape_ms": round(render * 1000, 1),
                "exposition_mib": round(size / 2**20, 2),
            }
        )
    )


def _count(port: int, prefix: bytes) -> int:
    """Samples of one metric, scraped as the measured scrapes are (gzip): the first such
    scrape after the start renders while it waits, as a restarted daemon's first does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        body = gzip.decompress(conn.getresponse().read())
    finally:
        conn.close()
    return sum(1 for line in body.splitlines() if line.startswith(prefix))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", choices=("sim", "lab"), default="sim")
    ap.add_argument("--scrapers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--fleet", type=int, default=1000, help="clusters (0: skip the fleet part)")
    ap.add_argument("--fleet-scrapes", type=int, default=20)
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
                if ours:
                    p99 = percentile(ours, 99) * 1000
                    print(f"slurm {label:8s} ours p99 {p99:.2f} ms (target < 10 ms)")
        finally:
            target.close()
    if args.fleet:
        fleet_scrape(args.fleet, args.fleet_scrapes)


if __name__ == "__main__":
    main()

"""Benchmark: the monthly SLA report with a year of history in the ledger (recorded at a
10 s interval, as ``bench_sla`` builds it), for a realistic and a pathological history
(slurmctld crash-looping all year: down 20 s of every minute).

For each scenario it times, on the last whole month of the year:
- ``report data``: ``build_report`` (the ledger's figures, timeline bands, burn-down,
  unknown periods, maintenance occurrences) for both services;
- each format rendered from it (md, html, json, csv; pdf when WeasyPrint is installed);
- ``json end to end``: open the store, build, render JSON (what ``--format json`` costs);
and, as a baseline measured in the same run, the naive design: read every transition and
heartbeat the store holds (the whole year, through the readable view) and replay them in
Python to recompute the month's downtime and unknown time, which must agree with the
report's to the microsecond.

    python3 bench/bench_report.py [--days 365] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_sla import START, add_maintenance, build_store, pathological, realistic  # noqa: E402
from monitor.config import parse_config  # noqa: E402
from monitor.ledger.maintenance import merged_windows  # noqa: E402
from monitor.ledger.store import LedgerStore  # noqa: E402
from monitor.ledger.timebase import DAY_US, MINUTE_US, from_us, month_bounds, to_us  # noqa: E402
from monitor.report.assemble import build_report  # noqa: E402
from monitor.report.render import render  # noqa: E402
from monitor.statestore import MIGRATIONS
from monitor.store.db import DB_NAME, Database  # noqa: E402

SERVICES = ("slurmctld", "slurmdbd")


def best(fn, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def naive_month(db_path: Path, windows, service: str, ms: int, me: int) -> tuple[int, int]:
    """(down, unknown) microseconds of [ms, me) outside maintenance, replaying every stored
    transition and heartbeat from the beginning: no index, no bisect, no interval query."""
    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT at_us, run_id, seq, new, kind, service FROM ledger_transitions_v"
    ).fetchall()
    beats = conn.execute("SELECT run_id, first_us, last_us FROM ledger_heartbeats").fetchall()
    conn.close()
    mine = sorted((r for r in rows if r[4] == "service" and r[5] == service),
                  key=lambda r: (r[0], r[2]))  # fmt: skip
    maint = merged_windows(windows, "prod", service, ms, me)
    down = unknown = 0
    covered: list[tuple[int, int]] = []
    for run, first, last in sorted(beats, key=lambda b: b[1]):
        s, e = max(first, ms), min(last, me)
        if covered and s < covered[-1][1]:
            s = covered[-1][1]  # first come, first served
        if e <= s:
            continue
        covered.append((s, e))
        state, t = "unknown", s
        for at, r_run, _, new, _, _ in mine:  # every transition, every segment
            if r_run != run:
                continue
            if at <= s:
                state = new
                continue
            if at >= e:
                break
            down, unknown = _add(state, t, at, maint, down, unknown)
            state, t = new, at
        down, unknown = _add(state, t, e, maint, down, unknown)
    cursor = ms
    for s, e in covered + [(me, me)]:  # not covered: the monitor was not running
        if s > cursor:
            unknown += _outside(cursor, s, maint)
        cursor = max(cursor, e)
    return down, unknown


def _outside(s: int, e: int, maint) -> int:
    inside = sum(max(0, min(e, b) - max(s, a)) for a, b in maint)
    return (e - s) - inside


def _add(state: str, s: int, e: int, maint, down: int, unknown: int) -> tuple[int, int]:
    if e <= s:
        return down, unknown
    part = _outside(s, e, maint)
    if state == "down":
        down += part
    elif state not in ("up", "degraded"):
        unknown += part
    return down, unknown


def scenario(name: str, history, start: int, end: int, repeat: int, with_pdf: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        state_dir = Path(tmp)
        t0 = time.perf_counter()
        rows = build_store(state_dir, history, start, end)
        windows = add_maintenance(state_dir, start, end)
        setup = time.perf_counter() - t0
        cfg = parse_config(
            f'[monitor]\nstate_dir = "{state_dir}"\n[[clusters]]\nname = "prod"\n'
            '[sla]\ntimezone = "Europe/Berlin"\n'
        )
        tz = ZoneInfo(cfg.sla.timezone)
        last = from_us(end - 40 * DAY_US).astimezone(tz)
        year, month = last.year, last.month
        ms, me = month_bounds(year, month, tz)
        now = from_us(end)

        def build():
            store = LedgerStore(Database.in_dir(state_dir, migrations=MIGRATIONS))
            try:
                return build_report(store, cfg, year, month, config_sha256="0" * 64, now=now)
            finally:
                store.db.close()

        out: dict = {"name": name, "rows": rows, "setup_s": setup, "month": f"{year}-{month:02d}"}
        out["build_s"], report = best(build, repeat)
        out["e2e_s"], _ = best(lambda: render(build(), "json"), repeat)
        out["formats"] = {}
        for fmt in ("md", "html", "json", "csv"):
            seconds, data = best(lambda fmt=fmt: render(report, fmt), repeat)
            out["formats"][fmt] = (seconds, len(data))
        out["naive_s"], naive = best(
            lambda: [naive_month(state_dir / DB_NAME, windows, s, ms, me) for s in SERVICES],
            repeat,
        )
        for s, (down, unknown) in zip(report.services, naive, strict=True):
            b = s.period.breakdown
            assert (b.downtime_us, b.unknown_us) == (down, unknown), (s.service, b, down, unknown)
        if with_pdf:  # last: WeasyPrint leaves a large heap behind
            seconds, data = best(lambda: render(report, "pdf"), 1)
            out["formats"]["pdf"] = (seconds, len(data))
        out["incidents"] = sum(len(s.period.incidents) for s in report.services)
        out["bands"] = sum(len(s.bands) for s in report.services)
        out["availability"] = [s.period.breakdown.availability for s in report.services]
        return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="history length (default 365)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF (WeasyPrint)")
    args = parser.parse_args(argv)
    start = to_us(START)
    end = start + args.days * DAY_US - MINUTE_US
    try:
        import weasyprint  # noqa: F401

        with_pdf = not args.no_pdf
    except (ImportError, OSError):
        with_pdf = False
    results = [
        scenario("realistic", realistic(start, end), start, end, args.repeat, with_pdf),
        scenario("pathological", pathological(start, end), start, end, args.repeat, with_pdf),
    ]
    print(
        f"history: {args.days} days at a 10 s interval, 1 cluster, 2 services; "
        f"report month: {results[0]['month']} (Europe/Berlin); best of {args.repeat}"
    )
    for r in results:
        print(
            f"\n== {r['name']}: {r['rows']:,} transitions stored (setup {r['setup_s']:.1f} s); "
            f"the month: {r['incidents']:,} incidents, {r['bands']:,} timeline bands"
        )
        print(f"  report data            {r['build_s']:8.3f} s   (build_report, both services)")
        for fmt, (seconds, size) in r["formats"].items():
            print(f"  render {fmt:5s}           {seconds:8.3f} s   ({size:,} bytes)")
        print(f"  json end to end        {r['e2e_s']:8.3f} s   (open store, build, render)")
        ratio = r["naive_s"] / r["e2e_s"] if r["e2e_s"] else float("nan")
        print(
            f"  baseline: naive replay {r['naive_s']:8.3f} s   (every stored transition; "
            f"{ratio:.1f}x the json report; same downtime and unknown time, checked)"
        )
        avail = ", ".join(f"{a * 100:.4f} %" if a is not None else "n/a"
                          for a in r["availability"])  # fmt: skip
        print(f"  availability           {avail}")
    worst = max(results, key=lambda r: r["e2e_s"])
    print(
        f"\nslowest JSON report: {worst['e2e_s']:.3f} s ({worst['name']}); the naive replay "
        f"takes {worst['naive_s'] / worst['e2e_s']:.1f}x that for downtime and unknown time alone"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: SLA availability and error budget for a month, with a year of history
recorded at a 10 s probe interval, for a realistic and a pathological flapping rate.

For each scenario it builds a ledger store for a year (the same rows the daemon writes:
transitions, heartbeat segments, runs, maintenance), then times:
- ``figures cold``: ``Ledger.figures`` on a freshly opened ledger (month to date, budget,
  burn rates and the downtime counter over the whole year);
- ``figures after change``: the same after a new transition (what a round costs then);
- ``report month``: ``service_period`` for the last full month (availability, budget,
  incidents);
and, as a baseline measured in the same run, the naive design: one row per probe and
service, the month computed by walking its samples. Prints times, sizes and ratios.

    python3 bench/bench_sla.py [--days 365] [--no-baseline]

Targets: under 1 s for the month, under 50 MB per year of store.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import parse_config  # noqa: E402
from monitor.health import HealthEvent  # noqa: E402
from monitor.ledger.ledger import Ledger  # noqa: E402
from monitor.ledger.maintenance import StoredWindow, merged_windows  # noqa: E402
from monitor.ledger.query import service_period  # noqa: E402
from monitor.ledger.sla import Policy  # noqa: E402
from monitor.ledger.store import EventRow, Heartbeat, LedgerStore  # noqa: E402
from monitor.ledger.timebase import DAY_US, MINUTE_US, US, from_us, month_bounds, to_us  # noqa: E402
from monitor.snapshot import ClusterStatus  # noqa: E402
from monitor.statestore import MIGRATIONS
from monitor.store.db import DB_NAME, Database  # noqa: E402

INTERVAL_US = 10 * US
# A year of Berlin months (the SLA time zone below), ending a minute before a month ends,
# so "the month" is a whole month to date: the most work the daemon does for its figures.
START = dt.datetime(2024, 12, 31, 23, 0, tzinfo=dt.UTC)
SERVICES = ("slurmctld", "slurmdbd")


@dataclass
class History:
    """A year of one cluster: per service, (at, state, cause) changes; monitor gaps."""

    changes: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    daemon: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    failovers: list[tuple[int, str, str, str]] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)


def _episodes(rng, start, end, per_month, mean_minutes, state, cause):
    out, n = [], int(per_month * (end - start) / (30 * DAY_US))
    for _ in range(n):
        a = rng.randrange(start, end)
        length = max(INTERVAL_US, int(rng.expovariate(1 / (mean_minutes * MINUTE_US))))
        out.append((a, a + length, state, cause))
    return out


def _to_changes(episodes, start, end):
    """Non-overlapping episodes on an 'up' baseline -> ordered changes."""
    changes, cursor = [(start, "up", "ok")], start
    for a, b, state, cause in sorted(episodes):
        a = max(a, cursor)
        if a >= b or b >= end:
            continue
        changes += [(a, state, cause), (b, "up", "ok")]
        cursor = b + INTERVAL_US
    return changes


def realistic(start: int, end: int, seed: int = 1) -> History:
    rng = random.Random(seed)
    h = History()
    ctl = _episodes(rng, start, end, 3, 5, "down", "no_controller")
    ctl += _episodes(rng, start, end, 20, 2, "degraded", "slow")
    ctl += _episodes(rng, start, end, 2, 5, "unknown", "blind")
    h.changes["slurmctld"] = _to_changes(ctl, start, end)
    dbd = _episodes(rng, start, end, 4, 10, "down", "dbd_unreachable")
    dbd += _episodes(rng, start, end, 10, 3, "degraded", "backlog")
    dbd += _episodes(rng, start, end, 2, 5, "unknown", "blind")
    h.changes["slurmdbd"] = _to_changes(dbd, start, end)
    for a, b, _, _ in _episodes(rng, start, end, 8, 30, "", ""):  # failovers
        h.daemon += [(a, "ctl1", "primary", "up", "down"), (b, "ctl1", "primary", "down", "up")]
        h.failovers += [
            (a, "ctl1(primary)", "ctl2(backup)", "failover"),
            (b, "ctl2(backup)", "ctl1(primary)", "failback"),
        ]
    for a, b, _, _ in _episodes(rng, start, end, 20, 3, "", ""):  # backup blips
        h.daemon += [(a, "ctl2", "backup", "up", "down"), (b, "ctl2", "backup", "down", "up")]
    for a, _, _, _ in _episodes(rng, start, end, 4, 1, "", ""):  # monitor restarts
        h.gaps.append((a, a + rng.randrange(20, 120) * US))
    for state, changes in h.changes.items():  # both controllers go down with the service
        if state == "slurmctld":
            for at, new, _ in changes[1:]:
                if new == "down" or new == "up":
                    old, nxt = ("up", "down") if new == "down" else ("down", "up")
                    h.daemon += [
                        (at, "ctl1", "primary", old, nxt),
                        (at, "ctl2", "backup", old, nxt),
                    ]
    h.gaps.sort()
    return h


def pathological(start: int, end: int) -> History:
    """Realistic, plus slurmctld crash-looping all year: down 20 s of every minute
    (the fastest the hysteresis can confirm at a 10 s interval)."""
    h = realistic(start, end)
    changes = [(start, "up", "ok")]
    t = start + MINUTE_US
    while t + MINUTE_US < end:
        changes += [(t, "down", "no_controller"), (t + 20 * US, "up", "ok")]
        h.daemon += [
            (t, "ctl1", "primary", "up", "down"),
            (t, "ctl2", "backup", "up", "down"),
            (t + 20 * US, "ctl1", "primary", "down", "up"),
            (t + 20 * US, "ctl2", "backup", "down", "up"),
        ]
        t += MINUTE_US
    h.changes["slurmctld"] = changes
    return h


def build_store(state_dir: Path, h: History, start: int, end: int) -> int:
    """Write the year as the daemon would: runs split by the monitor's gaps; in each run
    every service starts unknown and is confirmed at its first heartbeat."""
    db = Database.in_dir(state_dir, migrations=MIGRATIONS)
    db._conn.execute("PRAGMA synchronous=OFF")  # setup speed only; the rows are the same
    store = LedgerStore(db)
    runs, cursor = [], start
    for a, b in h.gaps:
        if a > cursor:
            runs.append((cursor, a))
        cursor = max(cursor, b)
    runs.append((cursor, end))
    events: list[tuple[int, str, str, str, str, str, str, str, str]] = []
    for service, changes in h.changes.items():
        for at, new, cause in changes:
            events.append((at, "service", service, service, "", "", "", new, cause))
    for at, host, role, old, new in h.daemon:
        subject = f"slurmctld@{host}({role})"
        cause = "unreachable" if new == "down" else "up"
        events.append((at, "daemon", subject, "slurmctld", host, role, old, new, cause))
    for at, old, new, cause in h.failovers:
        events.append((at, "failover", "slurmctld", "slurmctld", "", "", old, new, cause))
    events.sort()
    ats = [e[0] for e in events]
    rows = 0
    seq = 0
    for first, last in runs:
        first = first - first % INTERVAL_US + INTERVAL_US
        last = last - last % INTERVAL_US
        if last <= first:
            continue
        run = store.begin_run(first, os.getpid(), "bench", "bench")
        state = {s: _state_at(h.changes[s], first) for s in SERVICES}
        batch = []
        for service in SERVICES:
            seq += 1
            batch.append(
                EventRow(
                    "prod",
                    "service",
                    service,
                    service,
                    "",
                    "",
                    "",
                    "unknown",
                    state[service][0],
                    state[service][1],
                    first,
                    first + 10 * US,
                    first + 10 * US,
                    seq,
                )
            )
        segment = None
        i = bisect.bisect_right(ats, first)
        day = first
        while day < last:
            day_end = min(last, day + DAY_US)
            while i < len(events) and events[i][0] < day_end:
                at, kind, subject, service, host, role, old, new, cause = events[i]
                i += 1
                if kind == "service":
                    old = state[service][0]
                    state[service] = (new, cause)
                seq += 1
                at = at - at % INTERVAL_US + INTERVAL_US  # seen at the next probe
                daemon = "slurmctld" if kind == "daemon" else ""
                row = (subject, service, daemon, host, role, old, new, cause)
                batch.append(EventRow("prod", kind, *row, at, at + 10 * US, at + 11 * US, seq))
            rounds = (day_end - first) // INTERVAL_US
            beat = Heartbeat("prod", segment, first, day_end, rounds)
            (segment,) = store.record(run, batch, [beat])
            rows += len(batch)
            batch = []
            day = day_end
    db._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return rows


def _state_at(changes, at):
    i = bisect.bisect_right([c[0] for c in changes], at) - 1
    return (changes[i][1], changes[i][2]) if i >= 0 else ("up", "ok")


def add_maintenance(state_dir: Path, start: int, end: int) -> list[StoredWindow]:
    store = LedgerStore(Database.in_dir(state_dir, migrations=MIGRATIONS))
    sunday = start + 4 * DAY_US + 2 * 3600 * US  # 2025-01-05 02:00Z, a Sunday
    store.add_window(
        StoredWindow(
            0,
            "config",
            sunday,
            sunday + 3600 * US,
            None,
            None,
            "weekly patching",
            "weekly",
            None,
            "Europe/Berlin",
            start,
            "config",
            config_key="bench",
        )
    )
    t = start + 10 * DAY_US
    while t < end:
        store.add_window(
            StoredWindow(
                0,
                "cli",
                t,
                t + 2 * 3600 * US,
                None,
                ("slurmdbd",),
                "db upgrade",
                "none",
                None,
                "Europe/Berlin",
                t - DAY_US,
                "bench",
            )
        )
        t += 30 * DAY_US
    windows = store.windows(include_removed=True)
    store.db.close()
    return windows


# --- the baseline: one row per probe and service -------------------------------------------


def build_baseline(path: Path, h: History, start: int, end: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE TABLE samples (service TEXT, ts INTEGER, state TEXT)")
    conn.execute("CREATE INDEX samples_by_time ON samples (service, ts)")
    gaps = h.gaps
    for service in SERVICES:
        changes = h.changes[service]
        cats = [c[0] for c in changes]

        def rows(service=service, changes=changes, cats=cats):
            g = 0
            for ts in range(start, end, INTERVAL_US):
                while g < len(gaps) and gaps[g][1] <= ts:
                    g += 1
                if g < len(gaps) and gaps[g][0] <= ts:
                    continue  # the monitor was not running: no sample
                yield service, ts, changes[bisect.bisect_right(cats, ts) - 1][1]

        conn.executemany("INSERT INTO samples VALUES (?, ?, ?)", rows())
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def baseline_month(path: Path, windows, service: str, ms: int, me: int, objective: float):
    """Naive: walk every sample of the month, classify it, count."""
    conn = sqlite3.connect(path)
    win = merged_windows(windows, "prod", service, ms, me)
    starts = [w[0] for w in win]
    counts = {"up": 0, "degraded": 0, "down": 0, "unknown": 0, "maintenance": 0}
    for ts, state in conn.execute(
        "SELECT ts, state FROM samples WHERE service = ? AND ts >= ? AND ts < ?", (service, ms, me)
    ):
        k = bisect.bisect_right(starts, ts) - 1
        if k >= 0 and ts < win[k][1]:
            counts["maintenance"] += 1
        else:
            counts[state] += 1
    conn.close()
    eligible = counts["up"] + counts["degraded"] + counts["down"]
    availability = (eligible - counts["down"]) / eligible if eligible else None
    budget = (1 - objective) * eligible * 10
    return availability, budget - counts["down"] * 10


# --- the run ---------------------------------------------------------------------------------


def _timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def _size(paths) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


def scenario(name: str, history: History, start: int, end: int, baseline: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sla-") as tmp:
        state_dir = Path(tmp)
        build_s, rows = _timed(lambda: build_store(state_dir, history, start, end))
        windows = add_maintenance(state_dir, start, end)
        db_path = state_dir / DB_NAME
        size = _size([db_path, db_path.with_name(DB_NAME + "-wal")])
        cfg = parse_config(
            f'[monitor]\nstate_dir = "{state_dir}"\n[[clusters]]\nname = "prod"\n'
            '[sla]\ntimezone = "Europe/Berlin"\n'
        )
        now = from_us(end)
        ledger = Ledger.open(cfg, clock=lambda: now)
        first, figures = _timed(lambda: ledger.figures(now))
        ledger.close()
        ledger = Ledger.open(cfg, clock=lambda: now)  # a restart: closed months cached
        cold, figures = _timed(lambda: ledger.figures(now))
        status = ClusterStatus("prod", now, None, (), {}, {}, 0, {})
        event = HealthEvent(
            "prod", "service", "slurmctld", "up", "up", now, now, "bench", service="slurmctld"
        )
        ledger.on_round(status, [event], now)
        warm, _ = _timed(lambda: ledger.figures(now))
        ledger.close()
        tz = ZoneInfo(cfg.sla.timezone)
        last = from_us(end - 40 * DAY_US).astimezone(tz)  # the last whole month
        ms, me = month_bounds(last.year, last.month, tz)
        if me > end:
            prev = (last.year, last.month - 1) if last.month > 1 else (last.year - 1, 12)
            ms, me = month_bounds(*prev, tz)
        store = LedgerStore(Database.in_dir(state_dir, migrations=MIGRATIONS))
        policy = Policy.from_settings(cfg.sla)
        report_s, periods = _timed(
            lambda: [service_period(store, "prod", s, ms, me, policy, 0.999) for s in SERVICES]
        )
        store.db.close()
        out = {
            "name": name,
            "rows": rows,
            "size": size,
            "build_s": build_s,
            "first_s": first,
            "cold_s": cold,
            "warm_s": warm,
            "report_s": report_s,
            "figures": figures,
            "periods": periods,
        }
        if baseline:
            bpath = state_dir / "baseline.sqlite3"
            out["baseline_build_s"], _ = _timed(lambda: build_baseline(bpath, history, start, end))
            out["baseline_size"] = _size([bpath])
            out["baseline_s"], out["baseline"] = _timed(
                lambda: [baseline_month(bpath, windows, s, ms, me, 0.999) for s in SERVICES]
            )
        return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="history length (default 365)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the per-probe baseline")
    args = parser.parse_args(argv)
    start = to_us(START)
    end = start + args.days * DAY_US - MINUTE_US
    results = [
        scenario("realistic", realistic(start, end), start, end, not args.no_baseline),
        scenario("pathological", pathological(start, end), start, end, not args.no_baseline),
    ]
    per_year = 365 / args.days
    print(
        f"history: {args.days} days at a 10 s interval, 1 cluster, 2 services, "
        f"{int(args.days * 8640 * 2):,} probes"
    )
    for r in results:
        print(f"\n== {r['name']}: {r['rows']:,} transitions stored (setup {r['build_s']:.1f} s)")
        mb = r["size"] / 1e6
        print(
            f"  ledger store           {mb:8.2f} MB  ({mb * per_year:.2f} MB per year, "
            f"{r['size'] / max(r['rows'], 1):.0f} bytes per transition)"
        )
        print(
            f"  figures, first start   {r['first_s']:8.3f} s   (month, budget, burn rates, "
            "counter over the whole history, closed months computed and cached)"
        )
        print(
            f"  figures, restart       {r['cold_s']:8.3f} s   (the same with the closed months "
            "cached in the store)"
        )
        print(
            f"  figures, after change  {r['warm_s']:8.3f} s   (what a round with a "
            "transition costs)"
        )
        print(
            f"  report month           {r['report_s']:8.3f} s   (2 services: breakdown, "
            "budget, incidents)"
        )
        for p in r["periods"]:
            a = p.breakdown.availability
            percent = a * 100 if a is not None else float("nan")
            print(
                f"    {p.service:10s} availability {percent:.4f} %"
                f"  downtime {p.breakdown.downtime_us / US:8.0f} s  "
                f"incidents {len(p.incidents)}"
            )
        if "baseline_s" in r:
            bmb = r["baseline_size"] / 1e6
            print(
                f"  baseline store         {bmb:8.2f} MB  (one row per probe; "
                f"{bmb / mb:.0f}x the ledger)"
            )
            ratio = r["baseline_s"] / r["report_s"]
            print(
                f"  baseline month         {r['baseline_s']:8.3f} s   "
                f"({ratio:.1f}x the ledger's report month)"
            )
            for service, (avail, _) in zip(SERVICES, r["baseline"], strict=True):
                print(f"    {service:10s} availability {avail * 100:.4f} % (sampled)")
    worst = max(max(r["cold_s"], r["warm_s"], r["report_s"]) for r in results)
    realistic_mb = results[0]["size"] / 1e6 * per_year
    print(
        f"\ntargets: month < 1 s: {'met' if worst < 1 else 'MISSED'} (worst {worst:.3f} s); "
        f"< 50 MB per year (realistic): {'met' if realistic_mb < 50 else 'MISSED'} "
        f"({realistic_mb:.2f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Slurm RPCs one probe round costs slurmctld, counted from sdiag's own RPC table before and
after, on the real HA cluster (Debian, root); beside the commands a usual Slurm exporter
runs per scrape (sinfo, squeue, sdiag), counted the same way in the same run.

    python -m bench.bench_rpcs [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.common import machine


def rpc_total(lab) -> tuple[int, dict[str, int]]:
    out = lab.run_client(["sdiag"], timeout=30).stdout
    from monitor.parsers import parser_for

    stats = parser_for("sdiag")(out).to_dict()["statistics"]
    by_type = {r["message_type"]: r["count"] for r in stats.get("rpcs_by_message_type", [])}
    return sum(by_type.values()), by_type


def measure(lab, action, rounds: int) -> tuple[float, dict[str, float]]:
    """RPCs per call of ``action``, less the measuring sdiag's own REQUEST_STATS_INFO."""
    before, types0 = rpc_total(lab)
    for _ in range(rounds):
        action()
    after, types1 = rpc_total(lab)
    per_type = {
        k: (v - types0.get(k, 0)) / rounds for k, v in types1.items() if v != types0.get(k, 0)
    }
    if "REQUEST_STATS_INFO" in per_type:  # the "after" sdiag counted itself once
        per_type["REQUEST_STATS_INFO"] -= 1 / rounds
    return (after - before - 1) / rounds, {k: v for k, v in per_type.items() if v > 0.001}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    from tests.cluster.lab import Lab

    with tempfile.TemporaryDirectory(prefix="bench-rpcs-") as tmp:
        config = Path(tmp) / "config.toml"
        lab = Lab()
        lab.start()
        try:
            config.write_text(
                f'[monitor]\nstate_dir = "{tmp}/state"\n[[clusters]]\n'
                f'name = "lab"\nslurm_conf = "{lab.slurm_conf}"\n'
            )

            def probe_round() -> None:
                r = lab.run_client(
                    [sys.executable, "-m", "monitor", "probe", "--config", str(config), "--json"],
                    timeout=60,
                )
                json.loads(r.stdout)

            def usual_scrape() -> None:
                for argv in (
                    ["sinfo", "-h", "-o", "%D,%T"],
                    ["squeue", "-h", "-o", "%P,%T,%C"],
                    ["sdiag"],
                ):
                    lab.run_client(argv, timeout=30)

            ours, ours_types = measure(lab, probe_round, args.rounds)
            usual, usual_types = measure(lab, usual_scrape, args.rounds)
        finally:
            lab.stop()
    print(
        f"# slurmctld RPCs per probe round (sdiag RPC table, {args.rounds} rounds); real "
        f"Slurm 22.05 HA cluster; {machine()}"
    )
    print(f"ours:     {ours:5.1f} RPCs per round  {_fmt(ours_types)}")
    print(
        f"baseline: {usual:5.1f} RPCs per scrape of a usual exporter (sinfo+squeue+sdiag)  "
        f"{_fmt(usual_types)}"
    )
    if usual:
        print(f"ours / baseline = {ours / usual:.2f}x")


def _fmt(types: dict[str, float]) -> str:
    return "(" + ", ".join(f"{k} {v:.1f}" for k, v in sorted(types.items())) + ")"


if __name__ == "__main__":
    main()

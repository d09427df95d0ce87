"""Copy the recorded 22.05 fixtures the simulator replays into monitor/simulator/recordings
(package data, so `slurm-sla demo` works from an installed wheel). Run after
`python -m tests.cluster.record_fixtures`: ``python -m tests.sync_recordings``.
tests/unit/test_simulator.py fails when the copies drift from tests/fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

from monitor.simulator.cluster import RECORDED_VERSION
from monitor.simulator.restd import ENDPOINTS, REST_VERSION
from monitor.simulator.situations import COMMANDS, SITUATIONS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TARGET = ROOT / "monitor" / "simulator" / "recordings"


def wanted() -> list[Path]:
    """Every fixture file the simulator's situations replay, relative to tests/fixtures."""
    out = []
    for situation in SITUATIONS.values():
        for _, _, kind in COMMANDS:
            for ext in (".txt", ".stderr", ".meta.json"):
                rel = Path(kind) / f"{RECORDED_VERSION}-{situation.recording}{ext}"
                if (FIXTURES / rel).exists():
                    out.append(rel)
        # the simulated slurmrestd replays the --json forms recorded on the newest release
        for kind in ENDPOINTS.values():
            for ext in (".json", ".meta.json"):
                rel = Path(kind) / f"{REST_VERSION}-{situation.recording}-json{ext}"
                if (FIXTURES / rel).exists():
                    out.append(rel)
    return sorted(set(out))


def main() -> None:
    if TARGET.exists():
        shutil.rmtree(TARGET)
    for rel in wanted():
        (TARGET / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / rel, TARGET / rel)
    print(f"copied {len(wanted())} files into {TARGET}")


if __name__ == "__main__":
    main()

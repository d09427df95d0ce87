"""``python -m tests``: the whole suite, its two halves side by side.

The real-cluster tests (``-m cluster``: one lab at a time, in order) spend most of their time
waiting on Slurm's own timeouts; the others (unit tests, Prometheus, Alertmanager, SMTP,
Chromium) mostly use the CPU. Side by side they take about as long as the longer half, and
the cluster tests run on a busy machine, which they must survive anyway.

Each half's lines reach the terminal as they come, behind its name; both summaries are
repeated at the end. Arguments go to both pytest runs (``-x``, ``-k EXPR``...). Exit status:
0 when both passed (a half with nothing selected counts as passed), else the first failure's.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path

HALVES = {"cluster": "cluster", "others": "not cluster"}
NOTHING_SELECTED = 5  # pytest's exit status when no test was collected


def main(argv: list[str]) -> int:
    base = Path(tempfile.mkdtemp(prefix="slurm-sla-tests-"))
    procs: dict[str, subprocess.Popen[str]] = {}
    tails: dict[str, deque[str]] = {}
    readers = []
    lock = threading.Lock()
    for name, marker in HALVES.items():
        cmd = [sys.executable, "-m", "pytest", "-m", marker, f"--basetemp={base / name}", *argv]
        procs[name] = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        tails[name] = deque(maxlen=40)
        reader = threading.Thread(target=_relay, args=(name, procs[name], tails[name], lock))
        reader.start()
        readers.append(reader)
    try:
        codes = {name: p.wait() for name, p in procs.items()}
    except KeyboardInterrupt:
        for p in procs.values():
            p.send_signal(signal.SIGINT)  # each half stops its own lab and services
        codes = {name: p.wait() for name, p in procs.items()}
    for reader in readers:
        reader.join()
    for name in HALVES:
        print(f"\n===== {name}: exit {codes[name]} =====")
        print("".join(line for line in tails[name] if _summary(line)), end="")
    failed = [c for c in codes.values() if c not in (0, NOTHING_SELECTED)]
    return failed[0] if failed else 0


def _relay(name: str, proc: subprocess.Popen[str], tail: deque[str], lock: threading.Lock) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        tail.append(line)
        with lock:
            sys.stdout.write(f"{name:>8}| {line}")
            sys.stdout.flush()


def _summary(line: str) -> bool:
    return line.startswith(("FAILED", "ERROR", "SKIPPED", "=")) or " passed" in line


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

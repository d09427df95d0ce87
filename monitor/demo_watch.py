"""What the HA demo reads from the processes it runs, and how it waits on them: a
replica's verdicts on its ``/metrics``, the Alertmanager pair's size, log tails. The
parsers are pure; the waits poll a condition, never sleep a guessed time."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from monitor.errors import MonitorError


def wait_for(ready: Callable[[], bool], seconds: float, what: str) -> None:
    if not waited(ready, seconds):
        raise MonitorError(f"gave up waiting {seconds:.0f} s for {what}")


def waited(ready: Callable[[], bool], seconds: float) -> bool:
    """Polls ``ready`` (an unreachable peer or a half-written answer is "not yet") until it
    holds (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError, ValueError):
            if ready():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def sleep_until(t: float) -> None:
    """Until monotonic time ``t`` (a step's planned end)."""
    time.sleep(max(0.0, t - time.monotonic()))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def get(url: str) -> str:
    import requests

    return requests.get(url, timeout=2).text


def alertmanager_peers(url: str) -> int:
    """How many members the Alertmanager at ``url`` sees in its cluster (itself included)."""
    status = json.loads(get(f"{url}/api/v2/status"))
    return len(status.get("cluster", {}).get("peers") or [])


_STATE = re.compile(r"^slurm_daemon_state\{([^}]*)\} 1(?:\.0)?$", re.M)


def daemon_states(metrics: str) -> list[tuple[str, str]]:
    """(daemon, state) of every daemon instance, after hysteresis, from an exposition::

        slurm_daemon_state{cluster="demo",daemon="slurmctld",host="ctl1",role="primary",
                           state="up"} 1.0   (one line)
    """
    out = []
    for m in _STATE.finditer(metrics):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out.append((labels.get("daemon", ""), labels.get("state", "")))
    return out


def observes(metrics: str, services: Iterable[str]) -> bool:
    """Each service has an instance whose state is decided, so the replica's ledger holds
    an observed state for it (a standby slurmdbd backup stays unknown: nothing asks it)."""
    decided = {d for d, s in daemon_states(metrics) if s != "unknown"}
    return decided >= set(services)


def sees_down(metrics: str, daemon: str) -> bool:
    """Every instance of ``daemon`` decided down."""
    states = [s for d, s in daemon_states(metrics) if d == daemon]
    return bool(states) and all(s == "down" for s in states)


def tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"

"""Fakes for the probe path: a clock to step, and a runner that answers Slurm commands
from recorded 22.05 output, with gates a test opens to make a command slow."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from monitor.runner import CommandResult, FailureReason

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T0 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)


def recorded(kind: str, situation: str = "22.05-healthy") -> str:
    return (FIXTURES / kind / f"{situation}.txt").read_text()


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class FakeRunner:
    """Answers each command with recorded output; ``hold(cmd)`` makes the next runs of a
    command wait until ``release(cmd)``; ``timeout(cmd)`` makes it time out."""

    OUTPUTS = {
        ("scontrol", "ping"): ("ping",),
        ("scontrol", "show"): ("show-config",),
        ("sdiag",): ("sdiag",),
    }

    def __init__(self) -> None:
        self.gates: dict[str, threading.Event] = {}
        self.timeouts: set[str] = set()
        self.runs: dict[str, int] = {}
        self.started: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    @staticmethod
    def key(argv: Sequence[str]) -> str:
        name = Path(argv[0]).name
        return "show" if argv[1:2] == ["show"] else ("ping" if name == "scontrol" else name)

    def hold(self, cmd: str) -> None:
        self.gates[cmd] = threading.Event()
        self.started[cmd] = threading.Event()

    def release(self, cmd: str) -> None:
        self.gates.pop(cmd).set()

    def __call__(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> CommandResult:
        cmd = self.key(argv)
        with self.lock:
            self.runs[cmd] = self.runs.get(cmd, 0) + 1
            number = self.runs[cmd]
        gate = self.gates.get(cmd)
        if gate is not None:
            self.started[cmd].set()
            assert gate.wait(10), f"{cmd} held too long"
        if cmd in self.timeouts:
            return CommandResult(tuple(argv), None, "", "", timeout, FailureReason.TIMEOUT,
                                 f"{cmd} timed out after {timeout:.0f} s")
        kind = {"ping": "ping", "show": "show-config", "sdiag": "sdiag"}[cmd]
        # Each sdiag run answers a different jobs_submitted, so a test can tell runs apart.
        text = recorded(kind)
        if cmd == "sdiag":
            text = text.replace("Jobs submitted: 0", f"Jobs submitted: {number}")
        return CommandResult(tuple(argv), 0, text, "", 0.01, None)




def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)

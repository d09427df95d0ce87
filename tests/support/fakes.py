"""Fakes for the probe path: a clock to step, and a runner that answers Slurm commands
from recorded 22.05 output, with gates a test opens to make a command slow."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from monitor.reasons import Reason
from monitor.runner import CommandResult, classify

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
    command wait until ``release(cmd)``; ``timeout(cmd)`` makes it time out;
    ``situation[cmd] = "22.05-both-dbd-killed"`` answers what Slurm printed then.
    Commands: ping, show (show config), sdiag, stats (sacctmgr show stats), cluster,
    dbdping (sacctmgr ping)."""

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
        self.situation: dict[str, str] = {}
        self.lock = threading.Lock()

    @staticmethod
    def key(argv: Sequence[str]) -> str:
        name = Path(argv[0]).name
        if name == "sacctmgr":
            if "stats" in argv:
                return "stats"
            return "dbdping" if "ping" in argv else "cluster"
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
            return CommandResult(tuple(argv), None, "", "", timeout, Reason.TIMEOUT,
                                 f"{cmd} timed out after {timeout:.0f} s")
        kind = {"ping": "ping", "show": "show-config", "sdiag": "sdiag",
                "stats": "sacctmgr-stats", "cluster": "cluster", "dbdping": "sacctmgr-ping"}[cmd]
        situation = self.situation.get(cmd, "22.05-healthy")
        # Each sdiag run answers a different jobs_submitted, so a test can tell runs apart.
        text = recorded(kind, situation)
        if cmd == "sdiag":
            text = text.replace("Jobs submitted: 0", f"Jobs submitted: {number}")
        if situation == "22.05-healthy":
            return CommandResult(tuple(argv), 0, text, "", 0.01, None)
        return _recorded_result(argv, FIXTURES / kind, situation, text)




def _recorded_result(argv: Sequence[str], folder: Path, situation: str, text: str
                     ) -> CommandResult:
    """What the runner made of a recorded failing run (its stderr and exit code)."""
    meta = json.loads((folder / f"{situation}.meta.json").read_text())
    stderr = (folder / f"{situation}.stderr").read_text()
    code = meta["returncode"]
    reason = classify(code, stderr)
    message = f"{argv[0]} exited {code}: {stderr.strip()[:200]}" if reason else ""
    return CommandResult(tuple(argv), code, text, stderr, 0.01, reason, message)


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)

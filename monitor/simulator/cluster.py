"""The simulated cluster on disk: stand-in executables, per-situation replay files, and the
slurmdbd ports (loopback listeners) of the current situation."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import threading
from importlib import resources
from pathlib import Path

from monitor.simulator.situations import COMMANDS, SITUATIONS, Situation

RECORDED_VERSION = "22.05"

_STANDIN = """#!/bin/sh
# SIMULATION: a stand-in for Slurm's {name}, written by slurm-sla-monitor's simulator.
# It replays output recorded from a real Slurm {version} cluster; it is not Slurm.
here=$(dirname "$0")
sim=$(cat "$here/../situation") || exit 70
case "{name} $*" in
{cases}  *) echo "{name}: the simulator has no recording for: {name} $*" >&2; exit 64 ;;
esac
base="$here/../situations/$sim/$kind"
[ -f "$base.delay" ] && sleep "$(cat "$base.delay")"
[ -f "$base.stderr" ] && cat "$base.stderr" >&2
[ -f "$base.out" ] && cat "$base.out"
exit "$(cat "$base.rc" 2>/dev/null || echo 0)"
"""

_MUNGE = """#!/bin/sh
# SIMULATION: a stand-in for munge's {name}, written by slurm-sla-monitor's simulator.
here=$(dirname "$0")
sim=$(cat "$here/../situation") || exit 70
cat > /dev/null
if [ -f "$here/../situations/$sim/munge.down" ]; then
  echo '{name}: Error: Failed to access "/run/munge/munge.socket.2": Connection refused' >&2
  exit 1
fi
echo "MUNGE:simulated-credential:"
"""


def recordings_dir() -> Path:
    return Path(str(resources.files("monitor.simulator") / "recordings"))


class SimulatedCluster:
    """``root/bin`` holds the stand-ins; ``set_situation`` switches what they replay."""

    def __init__(self, root: Path, recordings: Path | None = None, delays: bool = False) -> None:
        self.root = root
        self.bin_dir = root / "bin"
        self._recordings = recordings or recordings_dir()
        self._delays = delays
        self._listeners: dict[str, socket.socket] = {}
        self.ports: dict[str, int] = {}
        self.situation = ""

    def install(self) -> None:
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted({c[0] for c in COMMANDS}):
            cases = "".join(
                f'  "{name} {args}"*) kind={kind} ;;\n'
                if args
                else f'  "{name} "*) kind={kind} ;;\n'
                for n, args, kind in COMMANDS
                if n == name
            )
            _write_exec(
                self.bin_dir / name,
                _STANDIN.format(name=name, cases=cases, version=RECORDED_VERSION),
            )
        for name in ("munge", "unmunge"):
            _write_exec(self.bin_dir / name, _MUNGE.format(name=name))
        for name, situation in SITUATIONS.items():
            self._write_situation(name, situation)
        for role in ("primary", "backup"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            self.ports[role] = sock.getsockname()[1]
            sock.close()

    def _write_situation(self, name: str, situation: Situation) -> None:
        target = self.root / "situations" / name
        target.mkdir(parents=True, exist_ok=True)
        for _, _, kind in COMMANDS:
            base = str(self._recordings / kind / f"{RECORDED_VERSION}-{situation.recording}")
            if not Path(base + ".txt").exists():
                continue
            meta = _meta(base)
            shutil.copyfile(base + ".txt", target / f"{kind}.out")
            if Path(base + ".stderr").exists():
                shutil.copyfile(base + ".stderr", target / f"{kind}.stderr")
            (target / f"{kind}.rc").write_text(f"{meta.get('returncode', 0)}\n")
            if self._delays and meta.get("duration_seconds"):
                (target / f"{kind}.delay").write_text(f"{min(meta['duration_seconds'], 15):.2f}\n")
        if not situation.munge_ok:
            (target / "munge.down").write_text("")

    def host_addresses(self) -> dict[str, str]:
        """For the cluster's config: where the simulated slurmdbd hosts listen."""
        return {
            "dbd1": f"127.0.0.1:{self.ports['primary']}",
            "dbd2": f"127.0.0.1:{self.ports['backup']}",
        }

    def set_situation(self, name: str) -> None:
        situation = SITUATIONS[name]
        tmp = self.root / "situation.tmp"
        tmp.write_text(name + "\n")
        os.replace(tmp, self.root / "situation")  # atomic: a stand-in never reads half a name
        for role in ("primary", "backup"):
            if role in situation.dbd_listening:
                self._listen(role)
            else:
                self._close(role)
        self.situation = name

    def _listen(self, role: str) -> None:
        if role in self._listeners:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.ports[role]))
        sock.listen(1024)
        self._listeners[role] = sock
        # Accept and drop each connection, as far as a port check cares like slurmdbd; an
        # unaccepted backlog would fill and make later checks hang.
        threading.Thread(target=_drain, args=(sock,), daemon=True).start()

    def _close(self, role: str) -> None:
        sock = self._listeners.pop(role, None)
        if sock is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave the
            # port listening until then.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        for role in list(self._listeners):
            self._close(role)


def _drain(sock: socket.socket) -> None:
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return  # closed by set_situation
        conn.close()


def _meta(base: str) -> dict:
    path = Path(base + ".meta.json")
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def _write_exec(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

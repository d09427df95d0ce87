"""Finding and removing what a lab leaves on the machine (also after a crash)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from tests.cluster import layout, netns, procs, roots


def kill_in_lab_namespaces(timeout: float = 15) -> None:
    """SIGKILL every process inside a lab network namespace until none is left."""
    deadline = time.monotonic() + timeout
    while True:
        ids = {i for i in netns.lab_net_ns_ids().values() if i}
        pids = procs.pids_in_net_ns(ids) if ids else []
        if not pids:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes in lab namespaces would not die: {pids}")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def cleanup_leftovers(tmp_base: str) -> None:
    """Remove what a crashed earlier lab left: root-namespace daemons it recorded,
    processes in sslab-* namespaces, the namespaces, mounts, route and directories.
    Only call with the lab lock held (so no live lab owns them)."""
    dirs = sorted(Path(tmp_base).glob(f"{layout.PREFIX}-*"))
    for d in dirs:
        try:
            state = json.loads((d / "lab.json").read_text())
        except (OSError, ValueError):
            continue
        for pid, start in state.get("procs", {}).values():
            procs.ProcRef(pid, start).signal(signal.SIGKILL)
        if keeper := state.get("keeper"):  # a detached lab's lock holder (lab.detach)
            procs.ProcRef(*keeper).signal(signal.SIGKILL)
    kill_in_lab_namespaces()
    netns.teardown_network(tmp_base)
    for d in dirs:
        if (d / "lab.json").exists():
            shutil.rmtree(d, ignore_errors=True)
    # The empty mount points a crashed lab of 24.11/26.05 left in the cached Debian roots.
    for suite in (r.suite for r in roots.RELEASES.values() if r.suite):
        for point in (roots.root_dir(suite) / tmp_base.lstrip("/")).glob(f"{layout.PREFIX}-*"):
            with contextlib.suppress(OSError):
                point.rmdir()


def keeper_pids() -> list[int]:
    """Processes holding the lock of a detached lab (lab.Lab.detach), found by the mark
    at the end of their command line."""
    mark = f"{layout.PREFIX}-keeper".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) >= 2 and argv[-2] == mark:  # cmdline ends with a NUL
            found.append(int(entry.name))
    return found


def leftovers(tmp_base: str | None = None) -> dict[str, list]:
    """What of any lab still exists on this machine (empty lists when clean)."""
    tmp_base = tmp_base or tempfile.gettempdir()
    ids = {i for i in netns.lab_net_ns_ids().values() if i}
    return {
        "namespaces": sorted(netns.lab_net_ns_ids()),
        "processes": (procs.pids_in_net_ns(ids) if ids else []) + keeper_pids(),
        "mounts": netns.lab_mounts(tmp_base),
        "routes": [layout.SUBNET_CIDR] if netns.guard_route_present() else [],
        "directories": [
            str(d) for d in Path(tmp_base).glob(f"{layout.PREFIX}-*") if (d / "lab.json").exists()
        ],
    }

"""What the lab observes about itself through Slurm's own clients (run on the hub).

Kept apart from the monitor's parsers on purpose: the lab must not depend on the code it
is used to test. Everything here is a few regexes over outputs quoted in SLURM-LAB.md.
"""

from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from tests.cluster import layout

if TYPE_CHECKING:
    from tests.cluster.lab import Lab

PING_LINE = re.compile(r"Slurmctld\((\w+)\) at (\S+) is (UP|DOWN)")
PROBE_TIMEOUT = 5.0
DBD_QUEUE = re.compile(r"DBD Agent queue size: (\d+)")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else ""


def ping(lab: Lab) -> dict[str, str]:
    try:
        p = lab.run_client(["scontrol", "ping"], timeout=30)
    except subprocess.TimeoutExpired:
        return {}
    return {host: state for _mode, host, state in PING_LINE.findall(p.stdout)}


def _controller_state(lab: Lab, host: str) -> str:
    try:
        p = lab.run_client(["sdiag"], timeout=PROBE_TIMEOUT, conf=lab.probe_conf(host))
    except subprocess.TimeoutExpired:
        return "down: timeout"
    if p.returncode == 0:
        return "serving"
    if "standby" in p.stderr:
        return "standby"
    return f"down: {_last_line(p.stderr)}"


def _dbd_state(lab: Lab, host: str) -> str:
    try:
        p = lab.run_client(
            ["sacctmgr", "show", "stats"], timeout=PROBE_TIMEOUT, conf=lab.probe_conf(host)
        )
    except subprocess.TimeoutExpired:
        return "down: timeout"
    if p.returncode == 0:
        return "serving"
    # A standby slurmdbd does not listen on its port at all.
    if (
        lab.is_running(host)
        and not lab.is_frozen(host)
        and host not in lab.cut_links
        and "Connection refused" in p.stderr
    ):
        return "standby"
    return f"down: {_last_line(p.stderr) or 'not running'}"


def _both(fn, lab: Lab, hosts: tuple[str, ...]) -> dict[str, str]:
    with ThreadPoolExecutor(len(hosts)) as pool:
        return dict(zip(hosts, pool.map(lambda h: fn(lab, h), hosts), strict=True))


def controller_states(lab: Lab) -> dict[str, str]:
    return _both(_controller_state, lab, layout.CONTROLLERS)


def dbd_states(lab: Lab) -> dict[str, str]:
    return _both(_dbd_state, lab, layout.DBDS)


def node_states(lab: Lab) -> dict[str, str]:
    try:
        p = lab.run_client(["sinfo", "-h", "-N", "-o", "%N %t"], timeout=30)
    except subprocess.TimeoutExpired:
        return {}
    if p.returncode != 0:
        return {}
    return dict(line.split() for line in p.stdout.splitlines() if line.strip())


def dbd_agent_queue(lab: Lab) -> int | None:
    """sdiag's `DBD Agent queue size`: records slurmctld still owes slurmdbd."""
    try:
        p = lab.run_client(["sdiag"], timeout=30)
    except subprocess.TimeoutExpired:
        return None
    m = DBD_QUEUE.search(p.stdout)
    return int(m.group(1)) if m else None


def health(lab: Lab, primary: bool) -> tuple[bool, dict[str, object]]:
    obs: dict[str, object] = {}
    problems = [n for n in layout.DAEMONS if not lab.is_running(n) or lab.is_frozen(n)]
    if problems:
        obs["not running or frozen"] = problems
    if lab.cut_links:
        obs["links cut"] = sorted(lab.cut_links)
    obs["ping"] = pings = lab.ping()
    obs["controllers"] = ctl = controller_states(lab)
    obs["slurmdbd"] = dbd = dbd_states(lab)
    try:
        stats = lab.run_client(["sacctmgr", "show", "stats"], timeout=PROBE_TIMEOUT)
        obs["sacctmgr show stats rc"] = stats_rc = stats.returncode
    except subprocess.TimeoutExpired:
        obs["sacctmgr show stats rc"] = stats_rc = "timeout"
    obs["nodes"] = nodes = node_states(lab)
    obs["DBD agent queue"] = queue = dbd_agent_queue(lab)
    obs["state saved"] = saved = state_saved(lab)
    serving = sorted(h for h, s in ctl.items() if s == "serving")
    dbd_serving = sorted(h for h, s in dbd.items() if s == "serving")
    ok = (
        not problems
        and not lab.cut_links
        and pings == {"ctl1": "UP", "ctl2": "UP"}
        and (serving == ["ctl1"] if primary else len(serving) == 1)
        and (dbd == {"dbd1": "serving", "dbd2": "standby"} if primary else len(dbd_serving) == 1)
        and stats_rc == 0
        and bool(nodes)
        and all(s == "idle" for s in nodes.values())
        and queue == 0
        and saved
    )
    return ok, obs


def newer(lab: Lab) -> bool:
    """A release run from a Debian root (24.11, 26.05), not the host's 22.05."""
    return lab.runtime is not None and lab.runtime.root is not None


# 26.05: a backup that takes over before the primary ever saved its state dies with
# `fatal: No Assoc usage file (.../assoc_usage) to recover`, taking the cluster down. A
# lab is only healthy once that file exists (22.05 is left exactly as it was).
STATE_FILES = ("assoc_usage",)


def state_saved(lab: Lab) -> bool:
    if not newer(lab):
        return True
    state = lab.paths.state if lab.paths else None
    return state is not None and all((state / f).exists() for f in STATE_FILES)


def failback_grace(lab: Lab) -> float:
    """How long a failback may take before the lab restarts a daemon: 1-3 s on 22.05,
    but on 24.11 and 26.05 both controllers stop answering for about 28 s."""
    return 45.0 if newer(lab) else 20.0


def fail_back(lab: Lab, deadline: float) -> None:
    """Wait for the primaries to be back in control; a primary that does not get control
    back on its own within a grace period is restarted (a restarted primary asks the
    backup to hand over)."""
    grace = failback_grace(lab)
    try:
        lab.wait_serving("ctl1", timeout=min(grace, max(1.0, deadline - time.monotonic())))
    except TimeoutError:
        lab.kill("ctl1")
        lab.restore("ctl1")
        lab.wait_serving("ctl1", timeout=max(5.0, deadline - time.monotonic()))
    # A backup that was in control can be left not listening by the handover (22.05 logs
    # "REQUEST_CONTROL reply but backup not completely done relinquishing control"): its
    # process lingers, so restore() would not start it. Give it the grace, then restart it.
    if not _answers_ping(lab, "ctl2", min(grace, max(1.0, deadline - time.monotonic()))):
        lab.kill("ctl2")
        lab.restore("ctl2")
    try:
        lab.wait_dbd_serving("dbd1", timeout=min(grace, max(1.0, deadline - time.monotonic())))
    except TimeoutError:
        lab.kill("dbd1")
        lab.restore("dbd1")
        lab.wait_dbd_serving("dbd1", timeout=max(5.0, deadline - time.monotonic()))


def _answers_ping(lab: Lab, host: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while True:
        if lab.ping().get(host) == "UP":
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.5)


def cancel_jobs(lab: Lab) -> None:
    p = lab.run_client(["squeue", "-h", "-o", "%i"], timeout=30)
    jobs = p.stdout.split()
    if p.returncode == 0 and jobs:
        lab.run_client(["scancel", *jobs], timeout=30)

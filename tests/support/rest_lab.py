"""The REST backend against the lab's real slurmrestd (tests/cluster/restd.py): monitor configs
for both backends, `slurm-sla probe --json` through both at the same moment on the lab's
hub, and what the two must agree on (services, daemons, the serving controller).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.cluster.lab import Lab
from tests.support.hub_stack import HubStack

# What a verdict is, per service, for the comparison of the two backends.
SERVICE_KEYS = ("up", "state", "condition", "redundancy_ok", "active", "reason")


def monitor_section(state_dir: Path) -> str:
    return (
        "[monitor]\n"
        f'state_dir = "{state_dir}"\n'
        "command_timeout_seconds = 5\n"
        "slow_command_timeout_seconds = 20\n"
    )


def cli_cluster(lab: Lab) -> str:
    return (
        "[[clusters]]\n"
        'name = "lab"\n'
        f'slurm_conf = "{lab.slurm_conf}"\n'
        f'slurm_bin = "{lab.hub_bin_dir}"\nmunge_bin = "{lab.hub_bin_dir}"\n'
    )


def rest_cluster(lab: Lab, token_file: Path, urls: Sequence[str] | None = None) -> str:
    """A cluster seen through slurmrestd. slurm.conf only names the hosts; `readyz = true`:
    this monitor (on the hub) reaches the controllers and slurmdbd hosts, as the CLI one."""
    urls = list(urls or lab.restd.urls)
    return (
        "[[clusters]]\n"
        'name = "lab"\n'
        f'slurm_conf = "{lab.slurm_conf}"\n'
        'backend = "rest"\n'
        f"urls = {json.dumps(urls)}\n"
        f'token_file = "{token_file}"\n'
        "readyz = true\n"
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def rest_config(lab: Lab, directory: Path, token_file: Path | None = None,
                urls: Sequence[str] | None = None, name: str = "rest.toml") -> Path:
    token_file = token_file or root_token(lab)
    return write(directory / name,
                 monitor_section(directory / "state-rest") + rest_cluster(lab, token_file, urls))


def cli_config(lab: Lab, directory: Path) -> Path:
    text = monitor_section(directory / "state-cli") + cli_cluster(lab)
    return write(directory / "cli.toml", text)


def root_token(lab: Lab) -> Path:
    """A token for root (an administrator in the accounting db), written once per lab."""
    path = lab.root / "rest" / "root.jwt"
    if not path.exists():
        lab.restd.write_token(path, user="root", lifespan=7200)
    return path


def start_restd(lab: Lab) -> None:
    """Both slurmrestd instances up (a no-op while they run)."""
    lab.restd.start_all()


def probe_all(lab: Lab, *configs: Path, timeout: float = 90) -> list[tuple[int, dict]]:
    """`slurm-sla probe --json` with each config, all at once on the hub (the same fault
    state for each); (exit status, the one cluster's document) per config."""
    procs = [
        lab.spawn_client([sys.executable, "-m", "monitor", "probe", "--config", str(c), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in configs
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        assert stdout, stderr
        doc = json.loads(stdout)
        assert len(doc["clusters"]) == 1
        out.append((p.returncode, doc["clusters"][0]))
    return out


def view(cluster: dict, differ: Sequence[tuple[str, str]] = ()) -> dict:
    """What both backends must agree on; `differ` names (service, key) pairs left out."""
    services = {
        name: {k: s.get(k) for k in SERVICE_KEYS if (name, k) not in differ}
        for name, s in cluster["services"].items()
    }
    daemons = {d["hostname"]: (d["daemon"], d["role"], d["state"], d["reason"])
               for d in cluster["daemons"]}
    return {"services": services, "daemons": daemons}


def assert_same_view(cli: tuple[int, dict], rest: tuple[int, dict],
                     differ: Sequence[tuple[str, str]] = ()) -> None:
    (cli_rc, c), (rest_rc, r) = cli, rest
    assert view(r, differ) == view(c, differ), (
        f"REST and CLI disagree\ncli:  {json.dumps(view(c))}\nrest: {json.dumps(view(r))}\n"
        f"rest errors: {r['errors']}"
    )
    if not differ:
        assert rest_rc == cli_rc, (cli_rc, rest_rc, r["errors"])


# 22.05's slurmrestd answers "no controller answered" and "Slurm refused the token" alike
# (`slurmctld config is unable to load`), and so a primary that does not answer in time
# (frozen) too: there the REST backend is blind where the CLI sees.
CANNOT_TELL = "does not say which"


def assert_blind_where_cli_sees(cli: tuple[int, dict], rest: tuple[int, dict],
                                service: str = "slurmctld") -> None:
    """`service` blind through slurmrestd (never down), saying it cannot tell; the rest the
    same as the CLI's."""
    (_, c), (rest_rc, r) = cli, rest
    s = r["services"][service]
    assert s["condition"] == "blind" and s["up"] is None, s
    assert all(d["state"] == "unknown" for d in r["daemons"] if d["daemon"] == service), r
    assert any(CANNOT_TELL in e["message"] for e in r["errors"]), r["errors"]
    others = [(service, k) for k in SERVICE_KEYS]
    assert view(r, others)["services"] == view(c, others)["services"]
    assert rest_rc == 3


def probe_until_same(lab: Lab, cli: Path, rest: Path, timeout: float) -> tuple[int, dict]:
    """Probe both until they agree (a state that settles: right after a failback 22.05's
    slurmrestd answered slower than the ping threshold once); the CLI's result."""
    deadline = time.monotonic() + timeout
    while True:
        a, b = probe_all(lab, cli, rest)
        if view(a[1]) == view(b[1]) or time.monotonic() > deadline:
            assert_same_view(a, b)
            return a


class RestHubStack(HubStack):
    """HubStack (the daemon on the hub at the shipped defaults but a 2 s interval, one
    webhook receiver) with the cluster seen through slurmrestd."""

    def __init__(self, lab: Lab, root: Path, token_file: Path) -> None:
        self.token_file = token_file
        super().__init__(lab, root)

    def write_config(self, command_timeout: float = 5.0) -> None:
        text = (
            "[monitor]\n"
            "interval_seconds = 2\n"
            f"command_timeout_seconds = {command_timeout}\n"
            f'listen = "127.0.0.1:{self.listen_port}"\n'
            f'state_dir = "{self.state_dir}"\n'
            'log_format = "json"\n'
            + rest_cluster(self.lab, self.token_file)
            + "[[receivers]]\n"
            'name = "oncall"\n'
            'type = "webhook"\n'
            f'url = "http://127.0.0.1:{self.hook_port}/hook"\n'
        )
        self.config.write_text(text)

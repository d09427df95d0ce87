"""slurmrestd in the lab: two instances on the hub (the monitor's host), started only when a
test asks (`lab.restd.start()`), so no other test's lab pays for them.

- Each listens on TCP at the hub's address (PORTS: 6820, and 6821 for the "pair with one
  member down" case) and accepts JWT only (`-a rest_auth/jwt`): slurm.conf and
  slurmdbd.conf carry `AuthAltTypes=auth/jwt` with the lab's key (configs.py), and tokens
  come from `scontrol token username=U lifespan=S` (`token()`, `write_token()`).
- slurmrestd refuses to run as root or as SlurmUser (root here): it drops to `nobody`
  after opening its socket (`-u`, and `-g` from 23.02; 22.05's `-u` sets the group too).
- 22.05 has one openapi plugin per version (`-s openapi/v0.0.38,openapi/dbv0.0.38`: the
  newest, which the monitor asks for); 23.02+ load their data_parser plugins by default.
- The release's own slurmrestd (from the Debian root for 24.11 and 26.05). Its output goes
  to `<tmp>/stdio/slurmrestd-<port>.out`. An instance is found by its port in its argv
  among the hub's processes, so `stop()` works from a process that attached to a detached
  lab too; `lab.stop()` kills it with everything else in the lab's namespaces.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cluster import layout, netns, procs

if TYPE_CHECKING:
    from tests.cluster.lab import Lab

PORTS = (6820, 6821)
USER = "65534"  # nobody: not root, not SlurmUser (numeric: 26.05 cannot resolve names here)
GROUP = "65534"  # nogroup
# 22.05 serves v0.0.36-v0.0.38 from one plugin each; the monitor wants the newest.
OPENAPI_22_05 = "openapi/v0.0.38,openapi/dbv0.0.38"


def address() -> str:
    return layout.HOSTS["hub"]


def url(index: int = 0) -> str:
    return f"http://{address()}:{PORTS[index]}"


def options(slurm: str) -> list[str]:
    """slurmrestd's command line options for a release series (pure)."""
    opts = ["-a", "rest_auth/jwt", "-u", USER]
    if slurm == "22.05":
        return [*opts, "-s", OPENAPI_22_05]
    return [*opts, "-g", GROUP]


class Restd:
    """The lab's slurmrestd instances (see the module docstring)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self._popens: dict[int, subprocess.Popen] = {}

    def url(self, index: int = 0) -> str:
        return url(index)

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(url(i) for i in range(len(PORTS)))

    def start(self, index: int = 0, timeout: float = 20) -> float:
        """Start instance `index` unless it runs; return the seconds until it listens."""
        t0 = time.monotonic()
        if self.pids(index):
            return 0.0
        port = PORTS[index]
        runtime = self.lab.runtime
        if runtime is None:
            raise RuntimeError("the lab is not running")
        argv = runtime.argv("slurmrestd", *options(self.lab.slurm), f"{address()}:{port}")
        out = self.lab.root / "stdio" / f"slurmrestd-{port}.out"
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_ALL": "C",
            "SLURM_CONF": str(self.lab.slurm_conf),
            "SLURM_JWT": "daemon",  # 22.05-23.02: take tokens from the requests
        }
        with open(out, "ab") as stdio:
            self._popens[index] = self.lab.spawn_on(
                "hub", argv, env=env, stdin=subprocess.DEVNULL, stdout=stdio,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = t0 + timeout
        while not self.listening(index):
            popen = self._popens[index]
            if popen.poll() is not None:
                raise RuntimeError(
                    f"slurmrestd on port {port} exited ({popen.returncode}): "
                    f"{out.read_text(errors='replace')[-500:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"slurmrestd on port {port} not listening after {timeout}s")
            time.sleep(0.05)
        return time.monotonic() - t0

    def start_all(self, timeout: float = 20) -> float:
        t0 = time.monotonic()
        for i in range(len(PORTS)):
            self.start(i, timeout)
        return time.monotonic() - t0

    def stop(self, index: int = 0) -> None:
        """Stop instance `index` (SIGTERM, then SIGKILL) and wait until it is gone."""
        for pid in self.pids(index):
            ref = procs.ProcRef.of(pid)
            if ref is None:
                continue
            ref.signal(signal.SIGTERM)
            if not ref.wait_gone(5):
                ref.signal(signal.SIGKILL)
                ref.wait_gone(5)
        popen = self._popens.pop(index, None)
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=5)

    def stop_all(self) -> None:
        for i in range(len(PORTS)):
            self.stop(i)

    def pids(self, index: int = 0) -> list[int]:
        """The slurmrestd processes of instance `index` (by the port in their argv)."""
        ns = netns.lab_net_ns_ids().get(layout.netns_name("hub"))
        if not ns:
            return []
        listen = f"{address()}:{PORTS[index]}".encode()
        found = []
        for pid in procs.pids_in_net_ns({ns}):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if listen in argv and any(a.endswith(b"slurmrestd") for a in argv):
                found.append(pid)
        return found

    def listening(self, index: int = 0) -> bool:
        """True when instance `index` has its TCP socket listening (read from /proc in the
        hub's network namespace: the root namespace cannot reach the lab's /24)."""
        want = f"{_hex_ip(address())}:{PORTS[index]:04X}"
        for pid in self.pids(index):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
                    fields = line.split()
                    if fields[1] == want and fields[3] == "0A":  # LISTEN
                        return True
        return False

    # --- tokens -------------------------------------------------------------------------

    def token(self, user: str = "root", lifespan: int = 3600) -> str:
        """A JWT for `user` from `scontrol token` (run as root on the hub)."""
        out = self.lab.run_client(
            ["scontrol", "token", f"username={user}", f"lifespan={lifespan}"], timeout=30
        )
        if out.returncode != 0 or "SLURM_JWT=" not in out.stdout:
            raise RuntimeError(f"scontrol token failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout.strip().split("SLURM_JWT=", 1)[1]

    def write_token(self, path: Path, user: str = "root", lifespan: int = 3600) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.token(user, lifespan) + "\n")
        os.chmod(path, 0o600)
        return path


def _hex_ip(addr: str) -> str:
    """An IPv4 address as /proc/net/tcp prints it (little-endian hex)."""
    return "".join(f"{int(part):02X}" for part in reversed(addr.split(".")))

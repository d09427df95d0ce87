"""Where a lab's Slurm programs come from: the host's packages (22.05) or a Debian root
(24.11, 26.05; see roots.py), and the argv that runs one of them.

A program of a root runs as `chroot ROOT PROGRAM` inside the lab host's namespaces. In
every host's mount namespace the lab directory, /etc/hosts, /proc, /dev and /sys are
bind-mounted into the root at the same paths (netns.Hosts does it), so a daemon or client
in the root sees the same files as one run from the host would. munged and MariaDB stay
the host's: the root's libmunge talks to the host munged's socket in the lab directory.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.cluster import roots

HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
CHROOT = "/usr/sbin/chroot"
# chroot(8) changes directory to /; this keeps the caller's working directory when it
# exists inside the root (the lab directory does), so relative paths still work.
KEEP_CWD = 'cd "$0" 2>/dev/null || cd /; exec "$@"'


@dataclass(frozen=True)
class Runtime:
    slurm: str  # the release series asked for: "22.05", "24.11", "26.05"
    root: Path | None  # None: the host's own packages

    @classmethod
    def for_release(cls, slurm: str, build: bool = True) -> Runtime:
        """The runtime of `slurm`; builds its Debian root first when `build` and missing."""
        roots.release(slurm)  # ValueError on an unknown release
        root = roots.ensure_root(slurm) if build else _cached_root(slurm)
        return cls(slurm, root)

    def program(self, name: str) -> str:
        """Path of a Slurm program as the program itself sees it (inside the root)."""
        base = self.root or Path("/")
        for d in ("usr/sbin", "usr/bin", "sbin", "bin"):
            if (base / d / name).is_file():
                return f"/{d}/{name}"
        if self.root is None and (found := shutil.which(name, path=HOST_PATH)):
            return found
        raise FileNotFoundError(f"{name} not found in {base}")

    def argv(self, name: str, *args: str) -> list[str]:
        """argv that runs program `name` (from the root when there is one)."""
        if self.root is None:
            return [self.program(name), *args]
        return [CHROOT, str(self.root), self.program(name), *args]

    def exe(self, name: str) -> str:
        """What /proc/PID/exe of the running program reads, seen from the host."""
        inner = self.program(name)
        if self.root is None:
            return os.path.realpath(inner)
        return os.path.realpath(f"{self.root}{_resolve_in(self.root, inner)}")

    def client_argv(self, name: str, cwd: str) -> list[str]:
        """argv that runs program `name` in working directory `cwd` (when the root has
        it; else in /)."""
        if self.root is None:
            return [self.program(name)]
        return [CHROOT, str(self.root), "/bin/sh", "-c", KEEP_CWD, cwd, self.program(name)]

    def wrapper_argv(self, name: str) -> str:
        """Shell text that execs program `name` in place with the wrapper's "$@"
        (same PID: whoever kills the wrapper on a timeout kills the program)."""
        if self.root is None:
            return f'{shlex.quote(self.program(name))} "$@"'
        inner = " ".join(
            shlex.quote(a) for a in (CHROOT, str(self.root), "/bin/sh", "-c", KEEP_CWD)
        )
        return f'{inner} "$PWD" {shlex.quote(self.program(name))} "$@"'


def _resolve_in(root: Path, path: str) -> str:
    """`path` with its symlinks followed as the root sees them (Debian's alternatives:
    /usr/sbin/slurmctld -> /etc/alternatives/slurmctld -> /usr/sbin/slurmctld-wlm)."""
    for _ in range(40):
        host_path = Path(f"{root}{path}")
        if not host_path.is_symlink():
            return path
        target = os.readlink(host_path)
        path = os.path.normpath(
            target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
        )
    raise RuntimeError(f"too many symlinks resolving {path} in {root}")


def _cached_root(slurm: str) -> Path | None:
    suite = roots.release(slurm).suite
    if suite is None:
        return None
    if not roots.is_complete(suite):
        raise RuntimeError(f"the Debian root for Slurm {slurm} is not built")
    return roots.root_dir(suite)

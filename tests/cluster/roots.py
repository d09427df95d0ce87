"""Debian roots that carry the newer Slurm releases (24.11 from trixie, 26.05 from sid).

The host (Debian 12) has Slurm 22.05. A newer release runs from a minimal Debian root:
its daemons and clients are started with `chroot ROOT` inside the lab's per-host
namespaces (see lab.py). A root is built once per machine and cached under
ROOTS_DIR/<suite>; the marker file is written only after a complete install, so an
interrupted build is thrown away and redone by the next call. Builds are serialised
with a lock file per suite (two labs never run at once, but a build needs no lab).

    python3 -m tests.cluster.roots 24.11 26.05   # build (or check) ahead of time
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.layout import APT_LOCKED

ROOTS_DIR = Path(os.environ.get("SSLAB_ROOTS_DIR", "/var/cache/sslab/roots"))
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "slurmctld",
    "slurmdbd",
    "slurmd",
    "slurm-client",
    "slurmrestd",
    "slurm-wlm-jwt-plugin",  # auth/jwt in slurmctld and slurmdbd (the REST backend's tokens)
    "munge",
    "curl",  # to record /livez and /readyz from inside the root's view (optional tool)
)
MARKER = ".sslab-complete"


@dataclass(frozen=True)
class Release:
    """A Slurm release the lab can run: None suite = the host's own packages."""

    slurm: str  # "22.05", "24.11", "26.05"
    suite: str | None


RELEASES: dict[str, Release] = {
    r.slurm: r
    for r in (Release("22.05", None), Release("24.11", "trixie"), Release("26.05", "sid"))
}
DEFAULT_SLURM = "22.05"


def release(slurm: str) -> Release:
    try:
        return RELEASES[slurm]
    except KeyError:
        raise ValueError(f"unknown Slurm release {slurm!r}; one of {', '.join(RELEASES)}") from None


def root_dir(suite: str) -> Path:
    return ROOTS_DIR / suite


def is_complete(suite: str) -> bool:
    return (root_dir(suite) / MARKER).is_file()


def host_mirror(apt: Path = Path("/etc/apt")) -> str:
    """The Debian archive URI the host's apt uses (deb822 .sources or one-line lists),
    so a root is built from the same mirror as the machine's own packages."""
    files = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]
    for f in files:
        if not f.is_file() or not f.name.endswith((".list", ".sources")):
            continue
        text = f.read_text(errors="replace")
        for m in re.finditer(r"^\s*URIs:\s*(\S+)", text, re.M):
            if _is_main_archive(m.group(1)):
                return m.group(1)
        for m in re.finditer(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M):
            if _is_main_archive(m.group(1)):
                return m.group(1)
    return DEFAULT_MIRROR


def _is_main_archive(uri: str) -> bool:
    return uri.rstrip("/").endswith("/debian") and "security" not in uri


def _run(argv: list[str], timeout: float, log) -> None:
    log.write(f"$ {' '.join(argv)}\n".encode())
    log.flush()
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL": "C",
        "DEBIAN_FRONTEND": "noninteractive",
    }
    p = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed with {p.returncode}; see {log.name}")


def _ensure_debootstrap(log) -> None:
    # Under one lock for every suite: two builds at once would race for dpkg's lock.
    with open(ROOTS_DIR / "host-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if shutil.which("debootstrap", path="/usr/sbin:/usr/bin:/sbin:/bin"):
            return
        _run([*APT_LOCKED, "apt-get", "update"], 600, log)
        _run([*APT_LOCKED, "apt-get", "install", "-y", "--no-install-recommends", "debootstrap"],
             600, log)


def ensure_root(slurm: str) -> Path | None:
    """The root for `slurm` (built now if missing or incomplete); None for the host's."""
    suite = release(slurm).suite
    if suite is None:
        return None
    if is_complete(suite) and not _missing(root_dir(suite)):
        return root_dir(suite)
    ROOTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(ROOTS_DIR / f"{suite}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if not is_complete(suite):
            _build(suite)
        elif missing := _missing(root_dir(suite)):
            _add_packages(suite, missing)
    return root_dir(suite)


def _missing(root: Path) -> list[str]:
    """PACKAGES not installed in a complete root (one built before a package was added)."""
    out = subprocess.run(
        ["chroot", str(root), "dpkg-query", "-W", "-f=${Package} ${Status}\\n", *PACKAGES],
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout  # fmt: skip
    installed = {ln.split()[0] for ln in out.splitlines() if ln.endswith("install ok installed")}
    return [p for p in PACKAGES if p not in installed]


def _add_packages(suite: str, missing: list[str]) -> None:
    """Install what a newer PACKAGES added into an existing root: from its package lists
    as they are (the same archive state as the root's Slurm), refreshed only if needed."""
    root = root_dir(suite)
    install = ["chroot", str(root), "apt-get", "install", "-y", "--no-install-recommends",
               *missing]  # fmt: skip
    with open(ROOTS_DIR / f"{suite}.build.log", "ab") as log:
        try:
            _run(install, 900, log)
        except RuntimeError:
            _run(["chroot", str(root), "apt-get", "-o", "Acquire::Check-Valid-Until=false",
                  "update"], 900, log)  # fmt: skip
            _run(install, 900, log)
        _run(["chroot", str(root), "apt-get", "clean"], 120, log)


def _build(suite: str) -> None:
    root = root_dir(suite)
    t0 = time.monotonic()
    shutil.rmtree(root, ignore_errors=True)  # an interrupted build: start again
    with open(ROOTS_DIR / f"{suite}.build.log", "wb") as log:
        _ensure_debootstrap(log)
        _run(["debootstrap", "--variant=minbase", suite, str(root), host_mirror()], 1800, log)
        # Like the host: apt must never start services inside the root.
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        # sid's Release file on some mirrors is past its Valid-Until date.
        _run(["chroot", str(root), "apt-get", "-o", "Acquire::Check-Valid-Until=false",
              "update"], 900, log)  # fmt: skip
        _run(["chroot", str(root), "apt-get", "install", "-y", "--no-install-recommends",
              *PACKAGES], 1800, log)  # fmt: skip
        _run(["chroot", str(root), "apt-get", "clean"], 120, log)
        # Not `scontrol --version`: without a slurm.conf it tries DNS discovery and dies.
        version = subprocess.run(
            ["chroot", str(root), "dpkg-query", "-W", "-f=${Version}", "slurm-client"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split("-")[0]  # fmt: skip
        (root / MARKER).write_text(f"{version}\nbuilt in {time.monotonic() - t0:.0f}s\n")


def slurm_version(slurm: str) -> str | None:
    """The full version installed in the root (e.g. '24.11.5'), None if not built."""
    suite = release(slurm).suite
    if suite is None or not is_complete(suite):
        return None
    return (root_dir(suite) / MARKER).read_text().split()[0]


if __name__ == "__main__":
    for want in sys.argv[1:] or [r for r, v in RELEASES.items() if v.suite]:
        t = time.monotonic()
        path = ensure_root(want)
        print(f"{want}: {path} ({slurm_version(want)}) {time.monotonic() - t:.0f}s")

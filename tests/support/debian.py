"""Install Debian packages a test needs (CI starts from a fresh machine), or skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cluster.layout import APT_LOCKED  # one lock for every host apt-get of the suite

_updated = False


def is_debian_root() -> str | None:
    """None when packages can be installed here, else the one-line reason why not."""
    if not Path("/etc/debian_version").exists():
        return "not a Debian machine"
    if os.geteuid() != 0:
        return "not root"
    return None


def ensure_packages(*packages: str, binary: str | None = None) -> None:
    """Make ``packages`` installed (services not started: policy-rc.d stays as it is)."""
    global _updated
    if binary and shutil.which(binary):
        return
    missing = [p for p in packages if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
    ).stdout.strip() != "install ok installed"]
    if not missing:
        return
    why = is_debian_root()
    if why:
        pytest.skip(f"needs Debian packages {', '.join(missing)}: {why}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _updated:
        subprocess.run([*APT_LOCKED, "apt-get", "update", "-qq"], check=True, env=env,
                       timeout=600)
        _updated = True
    subprocess.run([*APT_LOCKED, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
                    *missing],
                   check=True, env=env, timeout=1200, stdout=subprocess.DEVNULL)

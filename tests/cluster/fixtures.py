"""pytest fixtures for the real Slurm HA test cluster (registered in tests/conftest.py).

- `lab` (session): the cluster, started once per session, stopped at the end of the
  session whatever happened. Its Slurm release comes from env `SSLAB_SLURM` (22.05,
  the default, from the host's packages; 24.11 or 26.05 from a Debian root). Skipped,
  with one line saying why, off Debian or as non-root.
- `healthy_lab` (function): the same cluster after `lab.heal()`: every daemon running,
  no link cut, ctl1 and dbd1 in control, nodes idle. Use it in every test that breaks
  something; it restarts the lab if an earlier test stopped it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

import pytest

from tests.cluster import roots
from tests.cluster.lab import Lab


def skip_reason() -> str | None:
    if not os.path.exists("/etc/debian_version"):
        return "the Slurm test cluster needs Debian (apt packages, ip netns)"
    if os.geteuid() != 0:
        return "the Slurm test cluster needs root (namespaces, daemons)"
    return None


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the fixture's finally: stop()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the Debian roots of the releases this session will need while the tests of
    the host's release run: a build is ~33 s of download and dpkg that would otherwise
    hold up the first test of each newer release. The lab's own `ensure_root` waits on
    the same per-suite lock, so it takes a finished root, or waits for the build, or
    (if this one failed) builds it again and reports its error where it is needed."""
    if skip_reason():
        return
    wanted = {i.callspec.params.get("lab") for i in session.items if hasattr(i, "callspec")}
    suites = {v: roots.RELEASES[v].suite for v in wanted if v in roots.RELEASES}
    pending = sorted(v for v, suite in suites.items() if suite and not roots.is_complete(suite))
    if pending:
        threading.Thread(
            target=_build_roots, args=(pending,), name="sslab-roots", daemon=True
        ).start()


def _build_roots(releases: list[str]) -> None:
    for slurm in releases:
        # A failed build is built again by the lab, which reports the error where it matters.
        with contextlib.suppress(Exception):
            roots.ensure_root(slurm)


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_on_sigterm)
    # The release: the test's parameter (tests/conftest.py, marker `slurm_versions`).
    the_lab = Lab(slurm=getattr(request, "param", None) or os.environ.get("SSLAB_SLURM") or None)
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.stop()
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def healthy_lab(lab: Lab) -> Lab:
    lab.heal()
    return lab

"""The lab's choice of Slurm programs per release (tests/cluster/runtime.py, roots.py):
pure path and text logic, no root, no lab."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cluster import roots
from tests.cluster.configs import render_wrapper
from tests.cluster.runtime import CHROOT, Runtime


@pytest.fixture
def debian_root(tmp_path: Path) -> Path:
    """A root laid out as Debian's: slurmctld through the alternatives system."""
    root = tmp_path / "sid"
    for d in ("usr/sbin", "usr/bin", "etc/alternatives"):
        (root / d).mkdir(parents=True)
    (root / "usr/sbin/slurmctld-wlm").write_text("")
    (root / "usr/bin/scontrol").write_text("")
    os.symlink("/etc/alternatives/slurmctld", root / "usr/sbin/slurmctld")
    os.symlink("/usr/sbin/slurmctld-wlm", root / "etc/alternatives/slurmctld")
    return root


def test_a_root_program_runs_through_chroot_and_is_recognised_by_its_real_file(debian_root):
    rt = Runtime("26.05", debian_root)
    assert rt.argv("slurmctld", "-D") == [CHROOT, str(debian_root), "/usr/sbin/slurmctld", "-D"]
    # Symlinks are followed inside the root, not on the host.
    assert rt.exe("slurmctld") == str(debian_root / "usr/sbin/slurmctld-wlm")
    with pytest.raises(FileNotFoundError):
        rt.program("slurmdbd")


def test_a_root_wrapper_keeps_the_pid_and_the_working_directory(debian_root):
    text = render_wrapper(
        ["/usr/bin/nsenter", "--net=/run/netns/x"],
        Runtime("26.05", debian_root).wrapper_argv("scontrol"),
    )
    assert text.startswith(f"#!/bin/sh\nexec /usr/bin/nsenter --net=/run/netns/x {CHROOT} ")
    assert text.endswith('"$PWD" /usr/bin/scontrol "$@"\n')
    assert render_wrapper([], Runtime("26.05", debian_root).wrapper_argv("scontrol")).startswith(
        f"#!/bin/sh\nexec {CHROOT} {debian_root} /bin/sh -c "
    )


def test_a_host_wrapper_is_the_one_22_05_always_had(tmp_path):
    prog = "/usr/bin/scontrol"
    if not Path(prog).is_file():
        pytest.skip("no Slurm client on this machine")
    text = render_wrapper(
        ["/usr/bin/nsenter", "--wd=."], Runtime("22.05", None).wrapper_argv("scontrol")
    )
    assert text == '#!/bin/sh\nexec /usr/bin/nsenter --wd=. /usr/bin/scontrol "$@"\n'


def test_releases():
    assert roots.release("24.11").suite == "trixie" and roots.release("26.05").suite == "sid"
    assert roots.release("22.05").suite is None
    with pytest.raises(ValueError, match="unknown Slurm release"):
        roots.release("23.02")


def test_the_roots_use_the_hosts_mirror(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert roots.host_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://other.example/debian bookworm main\n"
    )
    assert roots.host_mirror(tmp_path) == "http://other.example/debian"
    (tmp_path / "sources.list").unlink()
    assert roots.host_mirror(tmp_path) == roots.DEFAULT_MIRROR

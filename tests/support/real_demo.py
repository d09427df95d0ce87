"""``slurm-sla demo --real``: the demo's script against the real HA cluster of tests/cluster.

The installed package imports nothing from the test tree: ``demo --real`` replaces its
process with this module (``python -m tests.support.real_demo``, from the checkout's top
directory, with the demo's own arguments), which runs the same ``demo`` command with the
lab as its target.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from monitor import cli
from monitor.demo import REAL_NEEDS_CHECKOUT
from monitor.errors import UsageError


class RealLab:
    """The real HA cluster of tests/cluster (a source checkout, Debian, root).
    The monitor reaches it through the lab's client wrappers; slurmdbd's port check needs
    the lab's own network, so this run watches slurmctld only (no slurmdbd step)."""

    banner = (
        "REAL CLUSTER: slurm-sla demo runs the real monitor against the real Slurm 22.05 "
        "HA cluster\n  of tests/cluster (daemons are really killed and restored)"
    )
    tag = "REAL"
    _ACTIONS = {
        "primary-killed": ("ctl1",),
        "both-killed": ("ctl1", "ctl2"),
        "munge-down": ("munge",),
    }

    def __init__(self, work: Path) -> None:
        try:
            from tests.cluster.lab import Lab
        except ImportError:
            raise UsageError(REAL_NEEDS_CHECKOUT) from None
        self.lab = Lab()
        self.lab.start()

    def cluster_toml(self) -> str:
        lab = self.lab
        return (
            f'slurm_conf = "{lab.slurm_conf}"\nslurm_bin = "{lab.bin_dir}"\n'
            f'munge_bin = "{lab.bin_dir}"\naccounting = false\n'
        )

    def covers(self, situation: str) -> bool:
        return situation == "healthy" or situation in self._ACTIONS

    def enter(self, situation: str) -> None:
        if situation == "healthy":
            self.lab.heal()
        for name in self._ACTIONS.get(situation, ()):
            self.lab.kill(name)

    def close(self) -> None:
        self.lab.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``argv``: the demo's arguments (``--duration``, ``--listen``, ``--output``)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return cli.main(["demo", *args], demo_target=RealLab)


if __name__ == "__main__":
    sys.exit(main())

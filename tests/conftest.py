# Fixtures of the real Slurm test cluster: `lab`, `healthy_lab` (tests/cluster/fixtures.py).
from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.cluster.fixtures"]

DEFAULT_SLURM = "22.05"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Real-cluster tests run on the Slurm releases their `slurm_versions` marker names
    (default: 22.05). `SSLAB_SLURM=V` runs every real-cluster test on V alone. Tests are
    grouped by release, so each lab starts once per session."""
    if "lab" not in metafunc.fixturenames:
        return
    forced = os.environ.get("SSLAB_SLURM")
    marker = metafunc.definition.get_closest_marker("slurm_versions")
    versions = (forced,) if forced else tuple(marker.args) if marker else (DEFAULT_SLURM,)
    metafunc.parametrize("lab", versions, indirect=True, scope="session",
                         ids=[f"slurm{v}" for v in versions])

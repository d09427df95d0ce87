# Fixtures of the real Slurm test cluster: `lab`, `healthy_lab` (tests/cluster/fixtures.py).
pytest_plugins = ["tests.cluster.fixtures"]

"""A simulated Slurm HA cluster for ``slurm-sla demo`` and benchmarks: stand-in ``scontrol``,
``sdiag`` and ``sacctmgr`` executables that replay output recorded from a real Slurm 22.05
cluster (``recordings/``, copied from ``tests/fixtures``), switched between situations by
rewriting one file, plus the slurmdbd ports that are listening in each situation.

It is a simulation and says so: every stand-in carries that in its header, and the demo
prints it. The monitor under test is the real one: it runs the stand-ins as processes,
exactly as it runs Slurm's commands.
"""

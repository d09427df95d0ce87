"""The slurmrestd backend: Slurm's own HTTP + JSON API (JWT), for a monitor that has no
Slurm client, no slurm.conf and no munge key of the clusters it watches."""

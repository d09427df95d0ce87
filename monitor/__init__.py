"""slurm-sla-monitor: health and SLA monitoring for highly available Slurm clusters."""

__version__ = "0.1.0"

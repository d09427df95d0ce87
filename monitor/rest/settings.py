"""How one cluster's slurmrestd is reached (``backend = "rest"``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RestSettings:
    urls: tuple[str, ...]  # tried in order (a slurmrestd pair behind no load balancer)
    user: str | None = None  # X-SLURM-USER-NAME; None: the token's own user
    token_file: Path | None = None  # re-read when it changes (tokens are rotated)
    token_env: str | None = None
    ca_file: Path | None = None
    insecure_skip_verify: bool = False
    timeout_seconds: float = 5.0  # per request

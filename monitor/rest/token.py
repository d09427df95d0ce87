"""What a Slurm JWT says about itself (its claims), read without checking the signature:
only Slurm holds the key, and Slurm checks it.

    {"exp": 1796066245, "iat": 1796065645, "sun": "root"}   # scontrol token username=root
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any


def claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


def token_user(token: str) -> str | None:
    """The user the token was made for (``sun``). 22.05's slurmrestd refuses a token sent
    without X-SLURM-USER-NAME (HTTP 401); newer ones read it from the token."""
    user = claims(token).get("sun")
    return user if isinstance(user, str) and user else None


def expired(token: str, now: float) -> str:
    """Why the token cannot work any more at Unix time ``now``, or "". 22.05's slurmrestd
    answers a token Slurm refuses exactly as it answers "no controller" (``slurmctld
    config is unable to load``), so an expiry the monitor can see itself is named first."""
    exp = claims(token).get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp > now:
        return ""
    when = dt.datetime.fromtimestamp(exp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"token expired at {when}: Slurm rejects it (renew it: scontrol token)"

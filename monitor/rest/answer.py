"""What one slurmrestd request gave, and what it means for the monitor's sight.

"Cannot see" is never "down": slurmrestd refused or silent, a token refused, a server error
with no word from Slurm, or a body that is not JSON make the monitor blind (``auth``,
``timeout``, ``command_failed``, ``parse``; the message names the cause). Slurm's own
``errors`` in an answer from a reachable slurmrestd are evidence about Slurm: "Unable to
contact slurm controller" says the controllers did not answer, exactly as the CLI's stderr
would, and is read with the same signatures.

What the real slurmrestd says (22.05, 24.11, 26.05 in the lab; tests/fixtures/rest): it
does not check a JWT itself, it passes it on. An expired or forged token is refused by
slurmctld and slurmdbd, so it comes back as Slurm's own words: ``Protocol authentication
error`` (HTTP 511 on diag, each ping entry's ``status`` on 26.05), ``Failed to open
slurmdbd connection`` (``source: openapi_get_db_conn``), or 22.05's ``Database connection
reference is invalid``. A user without rights gets ``Access/permission denied``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from monitor.reasons import Reason
from monitor.runner import stderr_signature


@dataclass(frozen=True)
class RestAnswer:
    url: str
    status: int | None  # HTTP status; None when no HTTP answer came
    text: str = ""
    reason: Reason | None = None
    message: str = ""
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.reason is None


def judge(url: str, status: int, text: str, seconds: float) -> RestAnswer:
    """An HTTP answer: a usable document, Slurm's word about Slurm, or blindness."""
    if status in (401, 403):
        return RestAnswer(
            url,
            status,
            text,
            Reason.AUTH,
            f"slurmrestd rejected the token (HTTP {status}) at {url}",
            seconds,
        )
    doc = _json(text)
    errors = slurm_errors(doc) if isinstance(doc, dict) else ""
    if status == 200 and isinstance(doc, dict):
        return RestAnswer(url, status, text, None, "", seconds)
    if errors:
        # slurmrestd answered and Slurm said why: the same signatures as a client's stderr.
        signature = rest_signature(doc)
        if signature is not None:
            message = describe(signature, url, errors)
            return RestAnswer(url, status, text, signature, message, seconds)
    if status == 200:
        return RestAnswer(
            url, status, text, Reason.PARSE, f"{url}: the answer is not a JSON object", seconds
        )
    detail = f": {errors}" if errors else ""
    if _CONFIG_NOT_LOADED.search(errors):
        detail += f" ({_CONFIG_NOT_LOADED_MEANS})"
    return RestAnswer(
        url,
        status,
        text,
        Reason.COMMAND_FAILED,
        f"slurmrestd error (HTTP {status}) at {url}{detail}",
        seconds,
    )


def slurm_errors(doc: dict[str, Any]) -> str:
    """Slurm's ``errors`` array as one line: each ``description`` with its ``error`` (the
    text of the error number, which alone may carry the cause: "slurm_get_statistics()
    failed to get slurmctld statistics: Protocol authentication error")."""
    errors = doc.get("errors")
    if not isinstance(errors, list):
        return ""
    words = []
    for e in errors:
        if isinstance(e, dict):
            # text only: an object there is no word of Slurm's (and its repr no message)
            parts = [e[k] for k in ("description", "error") if isinstance(e.get(k), str) and e[k]]
            words.append(": ".join(dict.fromkeys(parts)))
        elif isinstance(e, str):
            words.append(e)
    return one_line("; ".join(w for w in words if w))[:500]


def one_line(text: str) -> str:
    """Server text as one printable line: a hostile server must not forge lines in the
    probe table, the log or an alert, nor send escape sequences to a terminal."""
    return "".join(c if c.isprintable() else " " for c in text)


# Slurm's answers through slurmrestd that the client commands never print.
_REST_SIGNATURES: tuple[tuple[Reason, re.Pattern[str]], ...] = (
    # Authenticated but not allowed (a user slurmdbd does not know): the token is the
    # problem, so the monitor cannot see, whatever the daemons do.
    (Reason.AUTH, re.compile(r"access/permission denied|authentication", re.I)),
    # slurmrestd could not open its connection to slurmdbd: the error text says "Unable
    # to connect to database" whatever the cause (slurmdbd down, MariaDB down, token
    # refused): it is evidence that slurmdbd did not serve, not that MariaDB is down.
    (Reason.UNREACHABLE, re.compile(r"slurmdbd connection|database connection reference", re.I)),
)


# 22.05's slurmrestd answers both "no controller answered" and "Slurm refused the token"
# with this alone (HTTP 500): the monitor cannot tell which, so it is blindness.
_CONFIG_NOT_LOADED = re.compile(r"slurmctld config is unable to load", re.I)
_CONFIG_NOT_LOADED_MEANS = (
    "no controller answered slurmrestd, or Slurm refused the token: this slurmrestd does not "
    "say which"
)


def rest_signature(doc: dict[str, Any]) -> Reason | None:
    """The failure Slurm named in an answer's ``errors`` (and each ping's ``status``)."""
    said = slurm_errors(doc)
    pings = doc.get("pings")
    if isinstance(pings, list):
        statuses = [p.get("status") for p in pings if isinstance(p, dict)]
        said += "; " + "; ".join(s for s in statuses if isinstance(s, str))
    for reason, pattern in _REST_SIGNATURES:
        if pattern.search(said):
            return reason
    return stderr_signature(said)


def describe(reason: Reason, url: str, said: str) -> str:
    if reason is Reason.AUTH:
        return f"Slurm rejected the token (through slurmrestd at {url}): {said}"
    return f"{url}: {said}"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
        return None

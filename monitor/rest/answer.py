"""What one slurmrestd request gave, and what it means for the monitor's sight.

"Cannot see" is never "down": slurmrestd refused or silent, a token refused, a server error
with no word from Slurm, or a body that is not JSON make the monitor blind (``auth``,
``timeout``, ``command_failed``, ``parse``; the message names the cause). Slurm's own
``errors`` in an answer from a reachable slurmrestd are evidence about Slurm: "Unable to
contact slurm controller" says the controllers did not answer, exactly as the CLI's stderr
would, and is read with the same signatures.
"""

from __future__ import annotations

import json
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
        signature = stderr_signature(errors)
        if signature is not None:
            return RestAnswer(url, status, text, signature, f"{url}: {errors}", seconds)
    if status == 200:
        return RestAnswer(
            url, status, text, Reason.PARSE, f"{url}: the answer is not a JSON object", seconds
        )
    detail = f": {errors}" if errors else ""
    return RestAnswer(
        url,
        status,
        text,
        Reason.COMMAND_FAILED,
        f"slurmrestd error (HTTP {status}) at {url}{detail}",
        seconds,
    )


def slurm_errors(doc: dict[str, Any]) -> str:
    """Slurm's ``errors`` array as one line (``error`` or ``description`` of each)."""
    errors = doc.get("errors")
    if not isinstance(errors, list):
        return ""
    words = []
    for e in errors:
        if isinstance(e, dict):
            text = e.get("description") or e.get("error") or ""
            words.append(str(text))
        elif isinstance(e, str):
            words.append(e)
    return one_line("; ".join(w for w in words if w))[:500]


def one_line(text: str) -> str:
    """Server text as one printable line: a hostile server must not forge lines in the
    probe table, the log or an alert, nor send escape sequences to a terminal."""
    return "".join(c if c.isprintable() else " " for c in text)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
        return None

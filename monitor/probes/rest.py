"""Probes through slurmrestd (``backend = "rest"``). Each has the name and the parsed type of
its CLI counterpart (slurmrestd answers with the JSON of ``scontrol ping --json``, ``sdiag
--json``, ``sacctmgr ping --json``), so the verdict is the same function for both
backends: one observation model, two ways to fill it."""

from __future__ import annotations

import json
import time

from monitor.errors import ParseError
from monitor.parsers import parser_for
from monitor.probes.base import Clock, ProbeResult, ProbeSpec, ProbeTarget
from monitor.reasons import Reason
from monitor.rest.answer import describe, rest_signature, slurm_errors

REST = frozenset({"rest"})


def rest_probe(spec: ProbeSpec, target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    started = clock()
    t0 = time.monotonic()
    if target.rest is None:
        return ProbeResult(spec.name, started, 0.0, None, Reason.COMMAND_FAILED, "no slurmrestd")
    api, endpoint = spec.rest
    answer = target.rest.get(api, endpoint, timeout)
    # An answer's latency is its own request's: time spent on a URL that did not answer, or
    # finding the version, is slurmrestd's or the network's, never slurmctld's slowness.
    seconds = answer.duration_seconds if answer.status is not None else time.monotonic() - t0
    if not answer.ok:
        return ProbeResult(spec.name, started, seconds, None, answer.reason, answer.message)
    doc = json.loads(answer.text)  # judge() let only a JSON object through
    said = rest_signature(doc)
    if said is Reason.AUTH:
        # slurmrestd passes the token on: Slurm refusing it comes back as an answer (26.05:
        # HTTP 200, every ping "Protocol authentication error"), never as "down".
        message = describe(Reason.AUTH, answer.url, _what_slurm_said(doc))
        return ProbeResult(spec.name, started, seconds, None, Reason.AUTH, message)
    try:
        data = parser_for(spec.kind)(answer.text) if spec.kind else _statistics(doc)
    except ParseError as exc:
        # A document without what was asked for, where Slurm said why ("Unable to contact
        # slurm controller"): evidence about Slurm, read like a client's stderr.
        if said is None:
            said, message = Reason.PARSE, f"{answer.url}: {exc}"
        else:
            message = describe(said, answer.url, _what_slurm_said(doc))
        return ProbeResult(spec.name, started, seconds, None, said, message)
    return ProbeResult(spec.name, started, seconds, data)


def _statistics(doc: dict) -> dict:
    """slurmdbd's diag, used for whether it answered: 22.05 answers HTTP 200 with only
    ``errors`` when slurmrestd has no slurmdbd connection."""
    if not isinstance(doc.get("statistics"), dict):
        raise ParseError("slurmdbd diag: no statistics in the answer")
    return doc


def _what_slurm_said(doc: dict) -> str:
    pings = doc.get("pings") if isinstance(doc.get("pings"), list) else []
    statuses = {str(p.get("status")) for p in pings if isinstance(p, dict) and p.get("status")}
    return "; ".join(w for w in (slurm_errors(doc), *sorted(statuses)) if w)


def _rest_ping(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    return rest_probe(REST_PING, target, timeout, clock)


def _rest_diag(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    return rest_probe(REST_DIAG, target, timeout, clock)


def _rest_dbd_ping(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    return rest_probe(REST_DBD_PING, target, timeout, clock)


def _rest_dbd_diag(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    return rest_probe(REST_DBD_DIAG, target, timeout, clock)


# slurmrestd pings each controller itself and waits MessageTimeout for a frozen one.
REST_PING = ProbeSpec(
    "ping", "slurmctld", _rest_ping, kind="ping", rest=("slurm", "ping"),
    long_timeout=True, backends=REST,
)  # fmt: skip
REST_DIAG = ProbeSpec(
    "sdiag", "slurmctld", _rest_diag, kind="sdiag", rest=("slurm", "diag"),
    background=True, long_timeout=True, backends=REST,
)  # fmt: skip
# slurmdbd: its ping from 24.11 (each instance), before that its diag (one round trip to
# the serving slurmdbd, like `sacctmgr show stats`).
REST_DBD_PING = ProbeSpec(
    "dbd_ping", "slurmdbd", _rest_dbd_ping, kind="sacctmgr-ping", rest=("slurmdb", "ping"),
    since=(24, 11), accounting=True, backends=REST,
)  # fmt: skip
REST_DBD_DIAG = ProbeSpec(
    "dbd_stats", "slurmdbd", _rest_dbd_diag, rest=("slurmdb", "diag"),
    until=(24, 11), accounting=True, backends=REST,
)  # fmt: skip

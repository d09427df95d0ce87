"""Parser of ``sacctmgr ping`` (Slurm 24.11+): which slurmdbd instances answer.

Text: one line per configured slurmdbd, ``DbdHost`` then ``DbdBackupHost``; no banner::

    slurmdbd(primary) at dbd1 is UP
    slurmdbd(backup) at dbd2 is DOWN

JSON (``sacctmgr ping --json``)::

    {"pings": [{"hostname": "dbd1", "responding": true, "latency": 1021, "primary": true},
               {"hostname": "dbd2", "responding": false, "latency": 2003, "primary": false}],
     "meta": {...}, "errors": [], "warnings": []}

(v0.0.45 adds ``"status"``.) JSON has no ``mode``: it is derived from the position as
sacctmgr names it in text, ``primary`` then ``backup``, and checked against ``primary``.
Before 24.11 sacctmgr answers ``invalid keyword: ping`` on stderr with nothing on stdout,
which is an empty input here.
"""

from __future__ import annotations

from monitor.parsers.common import clean_text, guarded, load_json, looks_like_json, numbered_lines
from monitor.parsers.ping import PingReport, parse_ping_json, parse_ping_lines

WHAT = "sacctmgr ping"


@guarded(WHAT)
def parse(text: str) -> PingReport:
    """Parse ``sacctmgr ping`` output, text or ``--json``; same shape as ``scontrol ping``."""
    text = clean_text(text, WHAT)
    if looks_like_json(text):
        return parse_ping_json(load_json(text, WHAT), "slurmdbd", WHAT)
    pings, _ = parse_ping_lines(numbered_lines(text), "slurmdbd", WHAT)
    return PingReport(pings, "slurmdbd", "text")

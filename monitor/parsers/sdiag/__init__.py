"""Parser of ``sdiag`` output: the text form (Slurm 19.05 to 25.x) and ``sdiag --json``.

Text sample (Slurm 24.11; ``RPC queue enabled`` and the exit sections are recent)::

    *******************************************************
    sdiag output at Thu Nov 26 10:00:00 2026 (1795687200)
    Data since      Thu Nov 26 00:00:00 2026 (1795651200)
    *******************************************************
    Server thread count:  3
    Agent queue size:     0
    ...
    Main schedule statistics (microseconds):
    \tLast cycle:   1203
    \tTotal cycles: 720
    ...
    Backfilling stats (WARNING: data obtained in the middle of backfilling execution.)
    \tTotal cycles: 120
    \tLast cycle when: Thu Nov 26 09:59:30 2026 (1795687170)
    ...
    Remote Procedure Call statistics by message type
    \tREQUEST_PARTITION_INFO                  ( 2009) count:1440   ave_time:171    total_time:246240

The main and backfill sections share key names ("Last cycle", "Mean cycle"...), so lines are
read by section. Times are the epoch Slurm prints in parentheses. The JSON form may be
data_parser v0.0.39 (plain numbers) or later (``{set, infinite, number}``).

Both forms give the same document. A value Slurm leaves out of the text is absent from both:
means before the first cycle, ``Cycles per minute`` in the first minute (or since epoch 0),
backfill means before the first backfill cycle, ``Last cycle when: N/A``. The JSON form gives
0 or null there instead, and its ``bf_table_size_mean`` repeats the queue length mean (a
data_parser bug up to v0.0.44); it is recomputed from ``bf_table_size_sum`` when given and
dropped otherwise. Placeholders are absent too: just after a start or takeover slurmctld
reports ``Data since ... (0)`` (see ``data_since_epoch0``) and ``Job states ts: ... (0)`` with
0 jobs pending and running before it has counted them.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from monitor.parsers.common import clean_text, guarded, load_json, looks_like_json
from monitor.parsers.sdiag.json_form import _from_json
from monitor.parsers.sdiag.model import (  # noqa: F401 - the result types, re-exported
    WHAT,
    BackfillExit,
    PendingRpc,
    PendingRpcHosts,
    RpcTypeStat,
    RpcUserStat,
    ScheduleExit,
    SdiagResult,
)
from monitor.parsers.sdiag.text import _TextParser


@guarded(WHAT)
def parse(text: str) -> SdiagResult:
    clean_text(text, WHAT)
    if looks_like_json(text):
        return _finish(_from_json(load_json(text, WHAT)))
    return _finish(_TextParser(text).run())


# ---------------------------------------------------------------------------- normalising


def _finish(v: dict[str, Any]) -> SdiagResult:
    """Apply the rules that make both forms say the same thing, then build the result."""
    elapsed = v["req_time"] - v["req_time_start"]
    if not v.get("schedule_cycle_total"):
        v["schedule_cycle_mean"] = v["schedule_cycle_mean_depth"] = None
    # sdiag prints the rate only after a minute; since epoch 0 it is a meaningless ~0.
    if elapsed <= 60 or v["req_time_start"] == 0:
        v["schedule_cycle_per_minute"] = None
    if not v.get("bf_cycle_counter"):
        for key in _BF_MEANS:
            v[key] = None
    if not v.get("bf_when_last_cycle"):
        v["bf_when_last_cycle"] = None
    if not v.get("job_states_ts"):
        # Until slurmctld first counts job states (seconds after a start or takeover) sdiag
        # prints epoch 0 and 0 pending, 0 running: placeholders, not counts.
        v["job_states_ts"] = v["jobs_pending"] = v["jobs_running"] = None
    v["rpcs_by_message_type"] = tuple(
        sorted(v["rpcs_by_message_type"], key=lambda r: (-r.count, r.type_id, r.message_type))
    )
    v["rpcs_by_user"] = tuple(
        sorted(v["rpcs_by_user"], key=lambda u: (-u.count, u.user_id, u.user))
    )
    # Every optional value the input did not give is None; the parsers check the others.
    return SdiagResult(
        **{
            f.name: v.get(f.name)
            for f in fields(SdiagResult)
            if f.name in v or f.default is MISSING
        }
    )


_BF_MEANS = ("bf_cycle_mean", "bf_depth_mean", "bf_depth_mean_try", "bf_queue_len_mean",
             "bf_table_size_mean")  # fmt: skip

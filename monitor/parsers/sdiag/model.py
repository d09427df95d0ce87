"""The typed result of ``sdiag`` and how it becomes the contract's document."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

WHAT = "sdiag"
# The RPC queue columns (24.05+), printed only while the queue is enabled.
_QUEUE_COLUMNS = ("queued", "dropped", "cycle_last", "cycle_max")


@dataclass(frozen=True)
class ScheduleExit:
    """Why main scheduling cycles ended (Slurm 23.11+)."""

    end_job_queue: int | None = None
    default_queue_depth: int | None = None
    max_job_start: int | None = None
    max_rpc_cnt: int | None = None
    max_sched_time: int | None = None
    licenses: int | None = None


@dataclass(frozen=True)
class BackfillExit:
    """Why backfill cycles ended (Slurm 23.11+)."""

    end_job_queue: int | None = None
    bf_max_job_start: int | None = None
    bf_max_job_test: int | None = None
    bf_max_time: int | None = None
    bf_node_space_size: int | None = None
    state_changed: int | None = None


@dataclass(frozen=True)
class RpcTypeStat:
    message_type: str
    type_id: int
    count: int
    average_time: int | None  # None only when count is 0
    total_time: int
    queued: int | None = None  # the four RPC queue columns: Slurm 24.05+, queue enabled
    dropped: int | None = None
    cycle_last: int | None = None
    cycle_max: int | None = None


@dataclass(frozen=True)
class RpcUserStat:
    user: str
    user_id: int
    count: int
    average_time: int | None
    total_time: int


@dataclass(frozen=True)
class PendingRpc:
    message_type: str
    type_id: int
    count: int


@dataclass(frozen=True)
class PendingRpcHosts:
    message_type: str
    type_id: int | None  # the text names the type only; taken from the statistics lines
    hosts: tuple[str, ...]  # Slurm's JSON names this list "count"


@dataclass(frozen=True)
class SdiagResult:
    """One ``sdiag`` snapshot; ``None`` means Slurm did not give the value."""

    req_time: int
    req_time_start: int
    server_thread_count: int
    agent_queue_size: int
    agent_count: int | None
    agent_thread_count: int | None
    dbd_agent_queue_size: int
    gettimeofday_latency: int | None
    schedule_cycle_max: int
    schedule_cycle_last: int
    schedule_cycle_total: int
    schedule_cycle_mean: int | None
    schedule_cycle_mean_depth: int | None
    schedule_cycle_per_minute: int | None
    schedule_exit: ScheduleExit | None
    schedule_queue_length: int | None
    jobs_submitted: int
    jobs_started: int
    jobs_completed: int
    jobs_canceled: int
    jobs_failed: int
    jobs_pending: int | None
    jobs_running: int | None
    job_states_ts: int | None
    bf_backfilled_jobs: int
    bf_last_backfilled_jobs: int
    bf_backfilled_het_jobs: int | None
    bf_cycle_counter: int
    bf_cycle_mean: int | None
    bf_depth_mean: int | None
    bf_depth_mean_try: int | None
    bf_cycle_last: int | None
    bf_cycle_max: int | None  # not in data_parser v0.0.39-v0.0.41 JSON
    bf_exit: BackfillExit | None
    bf_last_depth: int | None  # not in 22.05's slurmrestd diag (v0.0.38)
    bf_last_depth_try: int | None
    bf_queue_len: int
    bf_queue_len_mean: int | None
    bf_table_size: int | None
    bf_table_size_mean: int | None
    bf_when_last_cycle: int | None
    bf_active: bool
    rpcs_by_message_type: tuple[RpcTypeStat, ...]
    rpcs_by_user: tuple[RpcUserStat, ...]
    pending_rpcs: tuple[PendingRpc, ...] | None  # None: this form does not carry them
    pending_rpcs_by_hostlist: tuple[PendingRpcHosts, ...] | None
    # Not part of the document: what only one form tells.
    form: str = "text"  # "text" or "json"
    rpc_queue_enabled: bool | None = None  # text only (Slurm 24.05+)
    data_parser: str | None = None  # JSON only, e.g. "data_parser/v0.0.42"

    @property
    def data_since_epoch0(self) -> bool:
        """True seconds after a slurmctld start or takeover (``Data since ... (0)``): the
        counters are fresh, not a day's worth."""
        return self.req_time_start == 0

    def to_dict(self) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        for f in fields(self):
            if f.name in _NOT_IN_DOCUMENT:
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, ScheduleExit | BackfillExit):
                value = _present(value.__dict__)
            elif isinstance(value, tuple):
                value = [_entry_dict(entry) for entry in value]
            stats[f.name] = value
        return {"statistics": stats}


_NOT_IN_DOCUMENT = {"form", "rpc_queue_enabled", "data_parser"}


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _entry_dict(entry: Any) -> dict[str, Any]:
    if isinstance(entry, PendingRpcHosts):
        out = _present({"message_type": entry.message_type, "type_id": entry.type_id})
        return {**out, "count": list(entry.hosts)}
    return _present(entry.__dict__)


def _average(count: int, total: int, given: int | None) -> int | None:
    # The text prints 0 for an RPC type never seen; newer JSON leaves it unset when the
    # total is 0. Either way the mean of a non-empty series is total // count.
    if count <= 0:
        return None
    return given if given is not None else total // count

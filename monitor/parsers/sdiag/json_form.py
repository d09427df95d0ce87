"""``sdiag --json`` (data_parser v0.0.39 to v0.0.44), and ``/slurm/v0.0.38/diag`` of 22.05's
slurmrestd (the same keys, without ``bf_last_depth`` and ``bf_last_depth_try``)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from monitor.errors import ParseError
from monitor.parsers.common import (
    expand_hostlist,
    json_errors,
    json_int,
    json_number,
)
from monitor.parsers.sdiag.model import (
    _QUEUE_COLUMNS,
    WHAT,
    BackfillExit,
    PendingRpc,
    PendingRpcHosts,
    RpcTypeStat,
    RpcUserStat,
    ScheduleExit,
    _average,
)

# ---------------------------------------------------------------------------- JSON form

# Plain numbers of the statistics object; the first group must be there.
_JSON_REQUIRED = (
    "req_time", "req_time_start", "server_thread_count", "agent_queue_size",
    "dbd_agent_queue_size", "schedule_cycle_max", "schedule_cycle_last", "schedule_cycle_total",
    "jobs_submitted", "jobs_started", "jobs_completed", "jobs_canceled", "jobs_failed",
    "bf_backfilled_jobs", "bf_last_backfilled_jobs", "bf_cycle_counter", "bf_queue_len",
)  # fmt: skip
_JSON_OPTIONAL = (
    "agent_count", "agent_thread_count", "gettimeofday_latency", "schedule_cycle_mean",
    "schedule_cycle_mean_depth", "schedule_cycle_per_minute", "schedule_queue_length",
    "jobs_pending", "jobs_running", "job_states_ts", "bf_backfilled_het_jobs", "bf_cycle_mean",
    "bf_depth_mean", "bf_depth_mean_try", "bf_cycle_last", "bf_cycle_max", "bf_queue_len_mean",
    "bf_table_size", "bf_when_last_cycle", "bf_last_depth", "bf_last_depth_try",
)  # fmt: skip


def _from_json(doc: dict[str, Any]) -> dict[str, Any]:
    stats = doc.get("statistics")
    if not isinstance(stats, dict):
        errors = json_errors(doc)
        if errors:
            raise ParseError(f"{WHAT}: no statistics; Slurm reported: {errors}")
        raise ParseError(f"{WHAT}: no 'statistics' object: not 'sdiag --json' output")
    if "server_thread_count" not in stats:
        raise ParseError(f"{WHAT}: the 'statistics' object is not sdiag's (no server_thread_count)")
    v: dict[str, Any] = {"form": "json", "data_parser": _data_parser(doc.get("meta"))}
    for key in _JSON_REQUIRED + _JSON_OPTIONAL:
        v[key] = _num(stats.get(key), f"statistics.{key}")
    if v["req_time_start"] is None and isinstance(stats.get("req_time_start"), dict):
        # Right after a takeover the start is epoch 0, which a NO_VAL timestamp may dump
        # as unset; nothing else leaves it unset.
        v["req_time_start"] = 0
    missing = next((key for key in _JSON_REQUIRED if v[key] is None), None)
    if missing:
        raise ParseError(f"{WHAT}: statistics.{missing} is missing")
    active = stats.get("bf_active", False)
    if not isinstance(active, bool):
        raise ParseError(f"{WHAT}: statistics.bf_active: expected true or false")
    v["bf_active"] = active
    v["bf_table_size_mean"] = _table_size_mean(stats, v["bf_cycle_counter"])
    v["schedule_exit"] = _exit_fields(stats, "schedule_exit", ScheduleExit)
    v["bf_exit"] = _exit_fields(stats, "bf_exit", BackfillExit)
    types = _each(stats, "rpcs_by_message_type", _rpc_type) or ()
    v["rpcs_by_message_type"] = _without_idle_queue_columns(types)
    v["rpcs_by_user"] = _each(stats, "rpcs_by_user", _rpc_user) or ()
    v["pending_rpcs"] = _each(stats, "pending_rpcs", _pending)
    v["pending_rpcs_by_hostlist"] = _each(stats, "pending_rpcs_by_hostlist", _dump)
    return v


def _num(value: Any, where: str) -> int | None:
    number = json_number(value, where, WHAT)
    if isinstance(number, float):
        if not number.is_integer():
            raise ParseError(f"{WHAT}: {where}: expected a whole number, got {number}")
        number = int(number)
    return number


def _int_of(entry: dict[str, Any], key: str, where: str) -> int:
    return json_int(entry.get(key), f"{where}.{key}", WHAT)


def _named(entry: dict[str, Any], where: str) -> tuple[str, int]:
    name = entry.get("message_type")
    if not isinstance(name, str):
        raise ParseError(f"{WHAT}: {where}.message_type: expected a string")
    return name, _int_of(entry, "type_id", where)


def _each(stats: dict[str, Any], key: str, build: Any) -> tuple[Any, ...] | None:
    """``build`` over a list of objects; None when the key is absent, () when Slurm wrote null."""
    if key not in stats:
        return None
    entries = stats[key] if stats[key] is not None else []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ParseError(f"{WHAT}: statistics.{key}: expected a list of objects")
    return tuple(build(e, f"statistics.{key}[{i}]") for i, e in enumerate(entries))


def _rpc_type(entry: dict[str, Any], where: str) -> RpcTypeStat:
    count, total = _int_of(entry, "count", where), _int_of(entry, "total_time", where)
    ave = _average(count, total, _num(entry.get("average_time"), f"{where}.average_time"))
    queue = {k: _num(entry.get(k), f"{where}.{k}") for k in _QUEUE_COLUMNS}
    return RpcTypeStat(*_named(entry, where), count, ave, total, **queue)


def _without_idle_queue_columns(types: tuple[RpcTypeStat, ...]) -> tuple[RpcTypeStat, ...]:
    # The JSON always carries the queue columns, as 0 when the RPC queue is off (it does not
    # say which); only a non-zero value shows the queue is on.
    if any(getattr(r, k) for r in types for k in _QUEUE_COLUMNS):
        return types
    return tuple(
        RpcTypeStat(r.message_type, r.type_id, r.count, r.average_time, r.total_time) for r in types
    )


def _pending(entry: dict[str, Any], where: str) -> PendingRpc:
    return PendingRpc(*_named(entry, where), _int_of(entry, "count", where))


def _rpc_user(entry: dict[str, Any], where: str) -> RpcUserStat:
    user = entry.get("user")
    if not isinstance(user, str):
        raise ParseError(f"{WHAT}: {where}.user: expected a string")
    count, total = _int_of(entry, "count", where), _int_of(entry, "total_time", where)
    ave = _average(count, total, _num(entry.get("average_time"), f"{where}.average_time"))
    return RpcUserStat(user, _int_of(entry, "user_id", where), count, ave, total)


def _dump(entry: dict[str, Any], where: str) -> PendingRpcHosts:
    hosts = entry.get("count", entry.get("hostlist"))  # Slurm names the host list "count"
    if isinstance(hosts, str):
        hosts = expand_hostlist(hosts, WHAT)
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ParseError(f"{WHAT}: {where}.count: expected a list of host names")
    return PendingRpcHosts(*_named(entry, where), tuple(hosts))


def _exit_fields(stats: dict[str, Any], key: str, cls: type) -> Any:
    value = stats.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ParseError(f"{WHAT}: statistics.{key}: expected an object")
    names = {f.name for f in fields(cls)}
    return cls(**{k: _num(n, f"statistics.{key}.{k}") for k, n in value.items() if k in names})


def _table_size_mean(stats: dict[str, Any], cycles: int) -> int | None:
    # data_parser v0.0.39-v0.0.44 fill bf_table_size_mean with the queue length mean; the
    # true mean needs bf_table_size_sum, which v0.0.42+ give.
    total = _num(stats.get("bf_table_size_sum"), "statistics.bf_table_size_sum")
    return total // cycles if total is not None and cycles else None


def _data_parser(meta: Any) -> str | None:
    if not isinstance(meta, dict):
        return None
    for key in ("plugin", "plugins"):  # v0.0.40+ / v0.0.39
        plugin = meta.get(key)
        if isinstance(plugin, dict) and isinstance(plugin.get("data_parser"), str):
            return plugin["data_parser"]
    return None

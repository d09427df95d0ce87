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

import re
from dataclasses import MISSING, dataclass, fields
from typing import Any

from monitor.errors import ParseError
from monitor.parsers.common import (
    clean_text,
    expand_hostlist,
    json_errors,
    json_int,
    json_number,
    load_json,
    looks_like_json,
    numbered_lines,
)

WHAT = "sdiag"


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
    bf_last_depth: int
    bf_last_depth_try: int
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


def _average(count: int, total: int, given: int | None) -> int | None:
    # The text prints 0 for an RPC type never seen; newer JSON leaves it unset when the
    # total is 0. Either way the mean of a non-empty series is total // count.
    if count <= 0:
        return None
    return given if given is not None else total // count


# ---------------------------------------------------------------------------- text form

_BANNER = re.compile(r"\*{10,}")
_STAMP = re.compile(r"(?P<label>sdiag output at|Data since)\s+(?P<date>.*?)\s*\((?P<epoch>-?\d+)\)")
_INT = re.compile(r"-?\d+")
_RPC_TYPE = re.compile(
    r"(?P<name>\S.*?)\s*\(\s*(?P<id>\d+)\)\s+count:(?P<count>\d+)\s+ave_time:(?P<ave>\d+)"
    r"\s+total_time:(?P<total>\d+)(?:\s+queued:(?P<queued>\d+)\s+cycle_last:(?P<cycle_last>\d+)"
    r"\s+cycle_max:(?P<cycle_max>\d+)\s+dropped:(?P<dropped>\d+))?"
)
_RPC_USER = re.compile(
    r"(?P<name>\S.*?)\s*\(\s*(?P<id>\d+)\)\s+count:(?P<count>\d+)\s+ave_time:(?P<ave>\d+)"
    r"\s+total_time:(?P<total>\d+)"
)
_PENDING = re.compile(r"(?P<name>\S.*?)\s*\(\s*(?P<id>\d+)\)\s+count:(?P<count>\d+)")
_DUMP = re.compile(r"(?P<n>\d+):\s+(?P<name>\S+)\s+(?P<hosts>\S+)")

# Section headers, in the order sdiag prints them; (name, header regex).
_SECTIONS = [
    ("main", re.compile(r"Main schedule statistics \(microseconds\):")),
    ("main_exit", re.compile(r"Main scheduler exit:")),
    (
        "bf",
        re.compile(
            r"Backfilling stats(?P<warn> \(WARNING: data obtained in the middle of "
            r"backfilling execution\.\))?"
        ),
    ),
    ("bf_exit", re.compile(r"Backfill exit")),
    (
        "latency",
        re.compile(r"Latency for 1000 calls to gettimeofday\(\): (?P<v>-?\d+) microseconds"),
    ),
    ("rpc_type", re.compile(r"Remote Procedure Call statistics by message type")),
    ("rpc_user", re.compile(r"Remote Procedure Call statistics by user")),
    ("pending", re.compile(r"Pending RPC statistics")),
    ("dump", re.compile(r"Pending RPCs")),
]
_RANK = {name: rank for rank, (name, _) in enumerate(_SECTIONS, start=1)}
_REQUIRED_SECTIONS = ("main", "bf", "latency", "rpc_type", "rpc_user", "pending")

# "key: value" lines per section: text key -> field; "ts" values are "<date> (<epoch>)".
_KEYS: dict[str, dict[str, str]] = {
    "top": {
        "Server thread count": "server_thread_count",
        "RPC queue enabled": "rpc_queue_enabled",
        "Agent queue size": "agent_queue_size",
        "Agent count": "agent_count",
        "Agent thread count": "agent_thread_count",
        "DBD Agent queue size": "dbd_agent_queue_size",
        "Jobs submitted": "jobs_submitted",
        "Jobs started": "jobs_started",
        "Jobs completed": "jobs_completed",
        "Jobs canceled": "jobs_canceled",
        "Jobs failed": "jobs_failed",
        "Job states ts": "job_states_ts",
        "Jobs pending": "jobs_pending",
        "Jobs running": "jobs_running",
    },
    "main": {
        "Last cycle": "schedule_cycle_last",
        "Max cycle": "schedule_cycle_max",
        "Total cycles": "schedule_cycle_total",
        "Mean cycle": "schedule_cycle_mean",
        "Mean depth cycle": "schedule_cycle_mean_depth",
        "Cycles per minute": "schedule_cycle_per_minute",
        "Last queue length": "schedule_queue_length",
    },
    "bf": {
        "Total backfilled jobs (since last slurm start)": "bf_backfilled_jobs",
        "Total backfilled jobs (since last stats cycle start)": "bf_last_backfilled_jobs",
        "Total backfilled heterogeneous job components": "bf_backfilled_het_jobs",
        "Total cycles": "bf_cycle_counter",
        "Last cycle when": "bf_when_last_cycle",
        "Last cycle": "bf_cycle_last",
        "Max cycle": "bf_cycle_max",
        "Mean cycle": "bf_cycle_mean",
        "Last depth cycle": "bf_last_depth",
        "Last depth cycle (try sched)": "bf_last_depth_try",
        "Depth Mean": "bf_depth_mean",
        "Depth Mean (try depth)": "bf_depth_mean_try",
        "Last queue length": "bf_queue_len",
        "Queue length mean": "bf_queue_len_mean",
        "Last table size": "bf_table_size",
        "Mean table size": "bf_table_size_mean",
    },
}
_TIME_FIELDS = {"job_states_ts", "bf_when_last_cycle"}
_TITLE = {"top": "top lines", "main": "main schedule section", "bf": "backfill section"}
_REQUIRED_KEYS = {
    "top": ("Server thread count", "Agent queue size", "DBD Agent queue size", "Jobs submitted",
            "Jobs started", "Jobs completed", "Jobs canceled", "Jobs failed"),
    "main": ("Last cycle", "Max cycle", "Total cycles"),
    "bf": ("Total backfilled jobs (since last slurm start)",
           "Total backfilled jobs (since last stats cycle start)", "Total cycles",
           "Last depth cycle", "Last depth cycle (try sched)", "Last queue length"),
}  # fmt: skip

# Exit reason names as schedule_exit2string() / bf_exit2string() print them.
_EXIT_NAMES = {
    "main_exit": {
        "End of job queue": "end_job_queue",
        "Hit default_queue_depth": "default_queue_depth",
        "Hit sched_max_job_start": "max_job_start",
        "Blocked on licenses": "licenses",
        "Hit max_rpc_cnt": "max_rpc_cnt",
        "Timeout (max_sched_time)": "max_sched_time",
    },
    "bf_exit": {
        "End of job queue": "end_job_queue",
        "Hit bf_max_job_start": "bf_max_job_start",
        "Hit bf_max_job_test": "bf_max_job_test",
        "System state changed": "state_changed",
        "Hit table size limit (bf_node_space_size)": "bf_node_space_size",
        "Timeout (bf_max_time)": "bf_max_time",
    },
}
_NOT_SDIAG = {
    "No data available. Probably slurmctld is not working": "sdiag got no data from slurmctld",
    "Reset scheduling statistics": "this is the output of 'sdiag --reset', not statistics",
}


class _TextParser:
    def __init__(self, text: str):
        self.lines = numbered_lines(text)
        self.text = text
        self.v: dict[str, Any] = {
            "form": "text", "bf_active": False, "rpcs_by_message_type": [],
            "rpcs_by_user": [], "pending_rpcs": (), "pending_rpcs_by_hostlist": [],
        }  # fmt: skip
        self.seen: dict[str, set[str]] = {}
        self.exits: dict[str, dict[str, int]] = {}
        self.section = "head"
        self.head_lines = 0
        self.rank = 0
        self.pending: list[PendingRpc] = []
        self.no = 0
        self.line = ""
        self.unknown_header: tuple[int, str] | None = None

    def fail(self, message: str) -> ParseError:
        return ParseError(f"{WHAT}: {message}", self.no, self.line)

    def run(self) -> dict[str, Any]:
        for no, raw in self.lines:
            if raw.strip():
                self.no, self.line = no, raw.rstrip()
                self._line(self.line)
        if not self.text.endswith("\n"):
            raise self.fail("input ends in the middle of a line (truncated?)")
        if self.unknown_header is not None:
            self.no, self.line = self.unknown_header
            raise self.fail("unrecognised line")
        self._check_complete()
        self.v["pending_rpcs"] = tuple(self.pending)
        for name, cls in (("main_exit", ScheduleExit), ("bf_exit", BackfillExit)):
            self.v["schedule_exit" if name == "main_exit" else "bf_exit"] = (
                cls(**self.exits[name]) if name in self.exits else None
            )
        return self.v

    def _line(self, line: str) -> None:
        body = line.strip()
        if body in _NOT_SDIAG:
            raise self.fail(_NOT_SDIAG[body])
        indented = line[0] in " \t"
        if self.unknown_header is not None:
            # An unknown line opens a newer Slurm's section only if indented lines follow.
            if not indented:
                self.no, self.line = self.unknown_header
                raise self.fail("unrecognised line")
            self.unknown_header = None
        if self.section == "head":
            self._head(body)
        elif indented:
            self._indented(body)
        else:
            self._top_level(body)

    def _head(self, body: str) -> None:
        """The banner, the two time stamps, and the banner again, before anything else."""
        expected = ("banner", "sdiag output at", "Data since", "banner")[self.head_lines]
        if expected == "banner":
            ok = bool(_BANNER.fullmatch(body))
        else:
            m = _STAMP.fullmatch(body)
            ok = bool(m) and m["label"] == expected
            if ok:
                field = "req_time" if expected == "sdiag output at" else "req_time_start"
                self.v[field] = int(m["epoch"])
        if not ok:
            hint = "not sdiag output? " if self.head_lines == 0 else ""
            raise self.fail(f"{hint}expected the {expected!r} line of the sdiag header")
        self.head_lines += 1
        if self.head_lines == 4:
            self.section = "top"

    def _top_level(self, body: str) -> None:
        for name, pattern in _SECTIONS:
            m = pattern.fullmatch(body)
            if m:
                self._enter(name, m)
                return
        if _BANNER.fullmatch(body) or _STAMP.fullmatch(body):
            raise self.fail("a second sdiag header: two outputs run together?")
        key, sep, value = body.partition(":")
        if sep and key in _KEYS["top"]:
            if self.section != "top":
                raise self.fail(f"{key!r} belongs in the {_TITLE['top']}")
            self._set("top", key, value)
        elif sep and self._owner(key, "top"):
            raise self.fail(f"{key!r} belongs in the {_TITLE[self._owner(key, 'top')]}")
        elif not sep:
            # A section this parser does not know (newer Slurm): skip its indented lines.
            self._enter("unknown", None)
            self.unknown_header = (self.no, self.line)

    def _enter(self, name: str, m: re.Match[str] | None) -> None:
        if name != "unknown":
            if _RANK[name] <= self.rank:
                raise self.fail("section repeated or out of order")
            self.rank = _RANK[name]
            self.seen.setdefault(name, set())
        self.section = name
        if name == "bf":
            self.v["bf_active"] = bool(m["warn"])
        elif name == "latency":
            self.v["gettimeofday_latency"] = int(m["v"])
        elif name in _EXIT_NAMES:
            self.exits[name] = {}

    def _indented(self, body: str) -> None:
        handler = getattr(self, f"_in_{self.section}", None)
        if self.section == "unknown":
            return
        if handler is None:
            raise self.fail(f"unexpected indented line in the {self.section} part")
        handler(body)

    def _in_main(self, body: str) -> None:
        self._section_key("main", body)

    def _in_bf(self, body: str) -> None:
        self._section_key("bf", body)

    def _section_key(self, section: str, body: str) -> None:
        key, sep, value = body.partition(":")
        if not sep:
            raise self.fail(f"expected 'name: value' in the {section} section")
        if key in _KEYS[section]:
            self._set(section, key, value)
        elif self._owner(key, section):
            raise self.fail(f"{key!r} belongs in the {_TITLE[self._owner(key, section)]}")
        # Any other "name: value" is a newer Slurm's addition: ignored.

    @staticmethod
    def _owner(key: str, section: str) -> str | None:
        """The section a key belongs to, when it is not ``section``'s: mixed-up input."""
        if key in _KEYS.get(section, {}):
            return None
        return next((name for name, keys in _KEYS.items() if key in keys), None)

    def _set(self, section: str, key: str, value: str) -> None:
        seen = self.seen.setdefault(section, set())
        if key in seen:
            raise self.fail(f"{key!r} appears twice")
        seen.add(key)
        field = _KEYS[section][key]
        value = value.strip()
        if field in _TIME_FIELDS:
            self.v[field] = self._stamp(value)
        elif field == "rpc_queue_enabled":
            self.v[field] = self._int(value) != 0
        else:
            self.v[field] = self._int(value)

    def _stamp(self, value: str) -> int | None:
        if value == "N/A":
            return None
        m = re.fullmatch(r".*\((-?\d+)\)", value)
        if not m:
            raise self.fail("expected a time with its epoch in parentheses")
        return int(m[1])

    def _int(self, value: str) -> int:
        if not _INT.fullmatch(value):
            raise self.fail(f"expected a whole number, got {value!r}")
        return int(value)

    def _in_main_exit(self, body: str) -> None:
        self._exit_line("main_exit", body)

    def _in_bf_exit(self, body: str) -> None:
        self._exit_line("bf_exit", body)

    def _exit_line(self, section: str, body: str) -> None:
        name, sep, value = body.rpartition(":")
        if not sep:
            raise self.fail("expected 'reason:count' in an exit section")
        field = _EXIT_NAMES[section].get(name.strip())
        if field is None:
            return  # a reason newer than this parser
        if field in self.exits[section]:
            raise self.fail(f"{name.strip()!r} appears twice")
        self.exits[section][field] = self._int(value.strip())

    def _in_rpc_type(self, body: str) -> None:
        if body == "No RPCs recorded yet.":
            return
        m = self._match(_RPC_TYPE, body, "an RPC-by-type line")
        count, total = int(m["count"]), int(m["total"])
        queue = {}
        if m["queued"] is not None:
            queue = {k: int(m[k]) for k in _QUEUE_COLUMNS}
        ave = _average(count, total, int(m["ave"]))
        self.v["rpcs_by_message_type"].append(
            RpcTypeStat(m["name"], int(m["id"]), count, ave, total, **queue)
        )

    def _in_rpc_user(self, body: str) -> None:
        m = self._match(_RPC_USER, body, "an RPC-by-user line")
        count, total = int(m["count"]), int(m["total"])
        self.v["rpcs_by_user"].append(
            RpcUserStat(
                m["name"], int(m["id"]), count, _average(count, total, int(m["ave"])), total
            )
        )

    def _in_pending(self, body: str) -> None:
        if body == "No pending RPCs":
            return
        m = self._match(_PENDING, body, "a pending RPC line")
        self.pending.append(PendingRpc(m["name"], int(m["id"]), int(m["count"])))

    def _in_dump(self, body: str) -> None:
        m = self._match(_DUMP, body, "a pending RPC hostlist line")
        dumps = self.v["pending_rpcs_by_hostlist"]
        if int(m["n"]) != len(dumps) + 1:
            raise self.fail("pending RPC hostlist lines out of sequence")
        try:
            hosts = expand_hostlist(m["hosts"], WHAT)
        except ParseError as exc:
            raise self.fail(exc.message) from None
        type_id = next((p.type_id for p in self.pending if p.message_type == m["name"]), None)
        dumps.append(PendingRpcHosts(m["name"], type_id, tuple(hosts)))

    def _match(self, pattern: re.Pattern[str], body: str, what: str) -> re.Match[str]:
        m = pattern.fullmatch(body)
        if not m:
            raise self.fail(f"expected {what}")
        return m

    def _check_complete(self) -> None:
        if self.section == "head":
            raise self.fail("not sdiag output: the header ends early")
        for section, keys in _REQUIRED_KEYS.items():
            missing = [k for k in keys if k not in self.seen.get(section, ())]
            if missing:
                raise self.fail(f"incomplete output (truncated?): no {missing[0]!r} line")
        for section in _REQUIRED_SECTIONS:
            if section not in self.seen:
                header = _SECTIONS[_RANK[section] - 1][1].pattern.replace("\\", "")
                raise self.fail(f"incomplete output (truncated?): no {header!r} section")
        self.v["pending_rpcs_by_hostlist"] = tuple(self.v["pending_rpcs_by_hostlist"])


# ---------------------------------------------------------------------------- JSON form

# Plain numbers of the statistics object; the first group must be there.
_JSON_REQUIRED = (
    "req_time", "req_time_start", "server_thread_count", "agent_queue_size",
    "dbd_agent_queue_size", "schedule_cycle_max", "schedule_cycle_last", "schedule_cycle_total",
    "jobs_submitted", "jobs_started", "jobs_completed", "jobs_canceled", "jobs_failed",
    "bf_backfilled_jobs", "bf_last_backfilled_jobs", "bf_cycle_counter", "bf_last_depth",
    "bf_last_depth_try", "bf_queue_len",
)  # fmt: skip
_JSON_OPTIONAL = (
    "agent_count", "agent_thread_count", "gettimeofday_latency", "schedule_cycle_mean",
    "schedule_cycle_mean_depth", "schedule_cycle_per_minute", "schedule_queue_length",
    "jobs_pending", "jobs_running", "job_states_ts", "bf_backfilled_het_jobs", "bf_cycle_mean",
    "bf_depth_mean", "bf_depth_mean_try", "bf_cycle_last", "bf_cycle_max", "bf_queue_len_mean",
    "bf_table_size", "bf_when_last_cycle",
)  # fmt: skip
_QUEUE_COLUMNS = ("queued", "dropped", "cycle_last", "cycle_max")


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

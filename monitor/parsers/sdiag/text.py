"""``sdiag``'s text form, section by section (see the package docstring)."""

from __future__ import annotations

import re
from typing import Any

from monitor.errors import ParseError
from monitor.parsers.common import (
    expand_hostlist,
    numbered_lines,
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

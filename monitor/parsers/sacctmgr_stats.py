"""Parser of ``sacctmgr show stats``: slurmdbd's own statistics, one round trip to it.

Before 24.11 (no ``sacctmgr ping``) a clean answer is the slurmdbd health probe, and ``Data
since`` is the answering slurmdbd's start time. Text (``sacctmgr_list_stats``,
src/sacctmgr/config_functions.c, unchanged in layout from 17.11 to 25.05)::

    *******************************************************************
    sacctmgr show stats output at Thu Nov 26 09:21:40 2026 (1795677700)
    Data since                    Thu Nov 26 09:00:01 2026 (1795676401)
    All statistics are in microseconds
    *******************************************************************

    Internal DBD rollup last ran Thu Nov 26 09:00:02 2026 (1795676402)
    <TAB>Last cycle:   8123
    <TAB>Max cycle:    8123
    <TAB>Total time:   8123
    <TAB>Total cycles: 1
    <TAB>Mean cycle:   8123

    Cluster 'prod' rollup statistics
    Hour  last ran Thu Nov 26 09:00:02 2026 (1795676402)
    <TAB>... the same five lines ...

    Remote Procedure Call statistics by message type
    <TAB>DBD_CLUSTER_TRES         ( 1407) count:4      ave_time:312    total_time:1248

    Remote Procedure Call statistics by user
    <TAB>slurm               (       990) count:12     ave_time:402    total_time:4824

JSON (``sacctmgr show stats --json``, 23.02+): ``{"statistics": {"time_start", "rollups",
"RPCs": [{"rpc", "count", "time": {"average", "total"}}], "users": [{"user", ...}]}}``, where
``rollups`` is v0.0.39's list ``[{"type": "internal", "last_run", "last_cycle", "max_cycle",
"total_time", "total_cycles", "mean_cycles"}]`` and later an object ``{"hourly": {"count",
"last_run", "duration": {"last", "max", "time"}}, "daily", "monthly"}``.

The document follows v0.0.39: ``rollups`` is the list, its ``type`` Slurm's own mapping of
the three slots (internal, user, unknown; the later ``hourly``/``daily``/``monthly`` names
the same slots), a slot with no time is left out and ``mean_cycles`` is Slurm's
``total_time / total_cycles`` (when more than one), as both forms print it. The RPC lists
use sdiag's key names; ``type_id`` and ``user_id`` exist only in the text form, so they are
absent for JSON input. The per-cluster rollups (text only) stay in the dataclass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

from monitor.errors import ParseError
from monitor.parsers.common import (
    clean_text,
    guarded,
    json_int,
    json_meta,
    load_json,
    looks_like_json,
    numbered_lines,
)

WHAT = "sacctmgr show stats"

_STARS = re.compile(r"^\*{3,}$")
_GENERATED = re.compile(r"^sacctmgr show stats output at .+ \((?P<epoch>-?\d+)\)$")
_SINCE = re.compile(r"^Data since\s+.+ \((?P<epoch>-?\d+)\)$")
_UNITS = "All statistics are in microseconds"
_ROLLUP = re.compile(
    r"^(?P<label>Internal DBD rollup|User RPC rollup call|unknown rollup) "
    r"last ran .+ \((?P<epoch>-?\d+)\)$"
)
_ROLLUP_TYPE = {"Internal DBD rollup": "internal", "User RPC rollup call": "user"}
_CLUSTER = re.compile(r"^Cluster '(?P<name>.*)' rollup statistics$")
_INTERVAL = re.compile(r"^(?P<interval>Hour|Day|Month|Unknown) +last ran .+ \((?P<epoch>-?\d+)\)$")
_CYCLE_LINES = ("Last cycle", "Max cycle", "Total time", "Total cycles", "Mean cycle")
_CYCLE = re.compile(r"^\s+(?P<label>[A-Za-z ]+):\s+(?P<n>\d+)$")
_BY_TYPE = "Remote Procedure Call statistics by message type"
_BY_USER = "Remote Procedure Call statistics by user"
_RPC = re.compile(
    r"^\s+(?P<name>\S+?)\s*\(\s*(?P<id>\d+)\) count:(?P<count>\d+)\s+"
    r"ave_time:(?P<ave>\d+)\s+total_time:(?P<total>\d+)\s*$"
)
# JSON v0.0.41+ names the three rollup slots by interval; v0.0.39 and the text by purpose.
_SLOTS = (("hourly", "internal"), ("daily", "user"), ("monthly", "unknown"))


@dataclass(frozen=True)
class Rollup:
    """One of slurmdbd's own rollup timers (microseconds)."""

    type: str  # internal, user or unknown, as v0.0.39 names them
    last_run: int  # UNIX time
    last_cycle: int
    max_cycle: int
    total_time: int
    total_cycles: int
    mean_cycles: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "last_run": self.last_run,
            "last_cycle": self.last_cycle,
            "max_cycle": self.max_cycle,
            "total_time": self.total_time,
            "total_cycles": self.total_cycles,
            "mean_cycles": self.mean_cycles,
        }


@dataclass(frozen=True)
class ClusterRollup:
    """A cluster's usage rollup timer (text form only)."""

    cluster: str
    interval: str  # Hour, Day, Month
    last_run: int
    last_cycle: int
    max_cycle: int
    total_time: int
    total_cycles: int
    mean_cycles: int


@dataclass(frozen=True)
class RpcTypeStat:
    message_type: str
    type_id: int | None  # text only
    count: int
    average_time: int  # microseconds
    total_time: int

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"message_type": self.message_type}
        if self.type_id is not None:
            doc["type_id"] = self.type_id
        doc.update(count=self.count, average_time=self.average_time, total_time=self.total_time)
        return doc


@dataclass(frozen=True)
class RpcUserStat:
    user: str
    user_id: int | None  # text only
    count: int
    average_time: int  # microseconds
    total_time: int

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"user": self.user}
        if self.user_id is not None:
            doc["user_id"] = self.user_id
        doc.update(count=self.count, average_time=self.average_time, total_time=self.total_time)
        return doc


@dataclass(frozen=True)
class DbdStatistics:
    time_start: int  # UNIX time: when the answering slurmdbd started collecting
    rollups: tuple[Rollup, ...]
    rpcs_by_message_type: tuple[RpcTypeStat, ...]
    rpcs_by_user: tuple[RpcUserStat, ...]
    cluster_rollups: tuple[ClusterRollup, ...] = ()
    generated_at: int | None = None  # text: "output at" UNIX time
    form: str = "text"
    data_parser: str | None = None
    slurm_release: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistics": {
                "time_start": self.time_start,
                "rollups": [r.to_dict() for r in self.rollups],
                "rpcs_by_message_type": [r.to_dict() for r in self.rpcs_by_message_type],
                "rpcs_by_user": [r.to_dict() for r in self.rpcs_by_user],
            }
        }


@guarded(WHAT)
def parse(text: str) -> DbdStatistics:
    """Parse ``sacctmgr show stats`` output, text or ``--json``."""
    text = clean_text(text, WHAT)
    if looks_like_json(text):
        return _parse_json(load_json(text, WHAT))
    return _TextParser([(n, line) for n, line in numbered_lines(text) if line.strip()]).run()


class _TextParser:
    """A cursor over the non-blank lines; each method reads one block or raises."""

    def __init__(self, lines: list[tuple[int, str]]):
        self.lines = lines
        self.pos = 0

    def run(self) -> DbdStatistics:
        generated, since = self._header()
        rollups: list[Rollup] = []
        clusters: list[ClusterRollup] = []
        while (line := self._peek()) is not None and line.strip() != _BY_TYPE:
            if (match := _ROLLUP.match(line.strip())) is not None:
                self.pos += 1
                kind = _ROLLUP_TYPE.get(match["label"], "unknown")
                rollups.append(Rollup(kind, int(match["epoch"]), *self._cycles()))
            elif (match := _CLUSTER.match(line.strip())) is not None:
                self.pos += 1
                clusters.extend(self._cluster(match["name"]))
            else:
                self._fail("expected a rollup block or the RPC statistics")
        self._expect(_BY_TYPE)
        by_type = [RpcTypeStat(n, i, c, a, t) for n, i, c, a, t in self._rpcs(_BY_USER)]
        self._expect(_BY_USER)
        by_user = [RpcUserStat(n, i, c, a, t) for n, i, c, a, t in self._rpcs(None)]
        return DbdStatistics(
            since, tuple(rollups), tuple(by_type), tuple(by_user), tuple(clusters), generated
        )

    def _header(self) -> tuple[int, int]:
        if (line := self._peek()) is None or not _STARS.match(line.strip()):
            self._fail("not sacctmgr show stats output: expected a line of '*'")
        self.pos += 1
        generated = int(
            self._match(_GENERATED, "expected 'sacctmgr show stats output at'")["epoch"]
        )
        since = int(self._match(_SINCE, "expected 'Data since ... (EPOCH)'")["epoch"])
        self._expect(_UNITS)
        self._match(_STARS, "expected the closing line of '*'")
        return generated, since

    def _cluster(self, name: str) -> list[ClusterRollup]:
        found = []
        while (line := self._peek()) is not None and (m := _INTERVAL.match(line.strip())):
            self.pos += 1
            found.append(ClusterRollup(name, m["interval"], int(m["epoch"]), *self._cycles()))
        if not found:
            self._fail(f"cluster {name!r}: expected 'Hour|Day|Month last ran ...'")
        return found

    def _cycles(self) -> tuple[int, int, int, int, int]:
        values = []
        for label in _CYCLE_LINES:
            match = self._match(_CYCLE, f"expected '{label}: N'")
            if match["label"] != label:
                self.pos -= 1
                self._fail(f"expected '{label}: N'")
            values.append(int(match["n"]))
        return tuple(values)  # type: ignore[return-value]

    def _rpcs(self, stop: str | None) -> list[tuple[str, int, int, int, int]]:
        rows = []
        while (line := self._peek()) is not None and line.strip() != stop:
            match = self._match(_RPC, "expected 'NAME (ID) count:N ave_time:N total_time:N'")
            rows.append(
                (
                    match["name"],
                    int(match["id"]),
                    int(match["count"]),
                    int(match["ave"]),
                    int(match["total"]),
                )
            )
        return rows

    def _peek(self) -> str | None:
        return self.lines[self.pos][1] if self.pos < len(self.lines) else None

    def _expect(self, text: str) -> None:
        line = self._peek()
        if line is None or line.strip() != text:
            self._fail(f"expected {text!r}")
        self.pos += 1

    def _match(self, pattern: re.Pattern[str], problem: str) -> re.Match[str]:
        line = self._peek()
        if line is not None:
            # cycle and RPC lines are told apart from headers by their leading tab
            text = line if pattern in (_CYCLE, _RPC) else line.strip()
            match = pattern.match(text)
            if match is not None:
                self.pos += 1
                return match
        self._fail(problem)

    def _fail(self, problem: str) -> NoReturn:
        if self.pos >= len(self.lines):
            raise ParseError(f"{WHAT}: {problem}, but the output ends (truncated?)")
        no, line = self.lines[self.pos]
        raise ParseError(f"{WHAT}: {problem}", no, line)


def _parse_json(doc: dict[str, Any]) -> DbdStatistics:
    stats = doc.get("statistics")
    if not isinstance(stats, dict):
        raise ParseError(f'{WHAT}: JSON document has no "statistics" object')
    if "time_start" not in stats:
        raise ParseError(f"{WHAT}: statistics.time_start missing")
    time_start = json_int(stats["time_start"], "time_start", WHAT)
    rollups = _json_rollups(stats.get("rollups", []))
    by_type = tuple(
        RpcTypeStat(name, None, *counts)
        for name, counts in _json_rpcs(stats.get("RPCs", []), "RPCs", "rpc")
    )
    by_user = tuple(
        RpcUserStat(name, None, *counts)
        for name, counts in _json_rpcs(stats.get("users", []), "users", "user")
    )
    parser, release = json_meta(doc)
    return DbdStatistics(time_start, rollups, by_type, by_user, (), None, "json", parser, release)


def _json_rollups(value: Any) -> tuple[Rollup, ...]:
    if isinstance(value, list):  # v0.0.39, v0.0.40
        out = []
        for i, entry in enumerate(value):
            where = f"{WHAT}: rollups[{i}]"
            if not isinstance(entry, dict) or entry.get("type") not in (
                "internal",
                "user",
                "unknown",
            ):
                raise ParseError(f"{where}: expected an object with type internal|user|unknown")
            fields = (
                "last_run",
                "last_cycle",
                "max_cycle",
                "total_time",
                "total_cycles",
                "mean_cycles",
            )
            numbers = [_req_int(entry, key, where) for key in fields]
            out.append(Rollup(entry["type"], *numbers))
        return tuple(out)
    if isinstance(value, dict):  # v0.0.41 and later
        out = []
        for slot, kind in _SLOTS:
            if slot not in value:
                continue
            where = f"{WHAT}: rollups.{slot}"
            entry = value[slot]
            duration = entry.get("duration") if isinstance(entry, dict) else None
            if not isinstance(duration, dict):
                raise ParseError(f"{where}: expected {{count, last_run, duration}}")
            count = _req_int(entry, "count", where)
            total = _req_int(duration, "time", where + ".duration")
            if total == 0:  # Slurm prints no block for an idle slot
                continue
            mean = total // count if count > 1 else total
            out.append(
                Rollup(
                    kind,
                    _req_int(entry, "last_run", where),
                    _req_int(duration, "last", where + ".duration"),
                    _req_int(duration, "max", where + ".duration"),
                    total,
                    count,
                    mean,
                )
            )
        return tuple(out)
    raise ParseError(f"{WHAT}: rollups is {type(value).__name__}, expected a list or object")


def _json_rpcs(value: Any, key: str, name_key: str) -> list[tuple[str, tuple[int, int, int]]]:
    if not isinstance(value, list):
        raise ParseError(f"{WHAT}: {key} is {type(value).__name__}, expected a list")
    rows = []
    for i, entry in enumerate(value):
        where = f"{WHAT}: {key}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get(name_key), str):
            raise ParseError(f"{where}: expected an object with a {name_key!r} name")
        time = entry.get("time")
        if not isinstance(time, dict):
            raise ParseError(f"{where}: expected time: {{average, total}}")
        counts = (
            _req_int(entry, "count", where),
            _req_int(time, "average", where + ".time"),
            _req_int(time, "total", where + ".time"),
        )
        rows.append((entry[name_key], counts))
    return rows


def _req_int(entry: dict[str, Any], key: str, where: str) -> int:
    if key not in entry:
        raise ParseError(f"{where}: {key} missing")
    return json_int(entry[key], key, where)

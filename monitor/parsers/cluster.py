"""Parser of ``sacctmgr -nP show cluster format=cluster,controlhost,controlport,rpc``.

slurmdbd's record of where each cluster's slurmctld registered from: after a takeover it is
the serving controller's address (and it lags a failback). Text, ``|``-separated, no header
with ``-n``, one line per cluster::

    prod|10.0.0.11|6817|9728
    lab||0|0

A cluster that never registered has an empty ControlHost and port 0. ``-P`` (parsable2)
prints no ``|`` after the last field, ``-p`` (parsable) prints one; both are read, as are
outputs without the ``rpc`` column and, when ``-n`` was left out, sacctmgr's header line
``Cluster|ControlHost|ControlPort|RPC``.

JSON (``sacctmgr show cluster --json``, 23.02+)::

    {"clusters": [{"name": "prod", "controller": {"host": "10.0.0.11", "port": 6817},
                   "rpc_version": 9984, "nodes": "...", "flags": [], ...}], "meta": {...}}

``control_host`` is kept as Slurm printed it (empty when unregistered) in both forms;
``rpc_version`` is absent from the document when the text had no rpc column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.errors import ParseError
from monitor.parsers.common import (
    clean_text,
    guarded,
    json_int,
    json_list,
    json_meta,
    load_json,
    looks_like_json,
    numbered_lines,
)

WHAT = "sacctmgr show cluster"

_HEADERS = (
    ("Cluster", "ControlHost", "ControlPort"),
    ("Cluster", "ControlHost", "ControlPort", "RPC"),
)


@dataclass(frozen=True)
class ClusterRecord:
    name: str
    control_host: str  # "" when the cluster's slurmctld never registered
    control_port: int  # 0 when never registered
    rpc_version: int | None = None  # None when not asked for (text without the rpc column)

    @property
    def registered(self) -> bool:
        return bool(self.control_host) and self.control_port != 0

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "control_host": self.control_host,
            "control_port": self.control_port,
        }
        if self.rpc_version is not None:
            doc["rpc_version"] = self.rpc_version
        return doc


@dataclass(frozen=True)
class ClusterList:
    clusters: tuple[ClusterRecord, ...]
    form: str = "text"
    data_parser: str | None = None
    slurm_release: str | None = None

    def get(self, name: str) -> ClusterRecord | None:
        return next((c for c in self.clusters if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"clusters": [c.to_dict() for c in self.clusters]}


@guarded(WHAT)
def parse(text: str) -> ClusterList:
    """Parse ``sacctmgr show cluster`` output (``-nP`` text with 3 or 4 columns, or JSON)."""
    text = clean_text(text, WHAT)
    if looks_like_json(text):
        return _parse_json(load_json(text, WHAT))
    rows = [(no, line) for no, line in numbered_lines(text) if line.strip()]
    clusters = []
    width: int | None = None
    for index, (no, line) in enumerate(rows):
        fields = line.split("|")
        if len(fields) > 1 and fields[-1] == "":  # -p: a '|' after the last field
            fields = fields[:-1]
        if index == 0 and tuple(fields) in _HEADERS:
            width = len(fields)
            continue
        if len(fields) not in (3, 4):
            raise ParseError(
                f"{WHAT}: expected 'cluster|controlhost|controlport[|rpc]', "
                f"got {len(fields)} field(s)",
                no,
                line,
            )
        if width is not None and len(fields) != width:
            raise ParseError(
                f"{WHAT}: {len(fields)} fields where earlier lines had {width} (mixed output?)",
                no,
                line,
            )
        width = len(fields)
        clusters.append(_record(fields, no, line))
    if not clusters:
        raise ParseError(f"{WHAT}: no cluster lines")
    return ClusterList(tuple(clusters))


def _record(fields: list[str], no: int, line: str) -> ClusterRecord:
    name, host, port = fields[0], fields[1], fields[2]
    if not name or any(c.isspace() for c in name):
        raise ParseError(f"{WHAT}: bad cluster name {name!r}", no, line)
    if any(c.isspace() for c in host):
        raise ParseError(f"{WHAT}: bad ControlHost {host!r}", no, line)
    if not port.isdigit():
        raise ParseError(f"{WHAT}: ControlPort {port!r} is not a number", no, line)
    rpc = None
    if len(fields) == 4:
        if not fields[3].isdigit():
            raise ParseError(f"{WHAT}: RPC {fields[3]!r} is not a number", no, line)
        rpc = int(fields[3])
    return ClusterRecord(name, host, int(port), rpc)


def _parse_json(doc: dict[str, Any]) -> ClusterList:
    entries = json_list(doc, "clusters", WHAT)
    clusters = []
    for i, entry in enumerate(entries):
        where = f"{WHAT}: clusters[{i}]"
        if not isinstance(entry, dict):
            raise ParseError(f"{where}: expected an object, got {type(entry).__name__}")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ParseError(f"{where}: no name")
        controller = entry.get("controller")
        if not isinstance(controller, dict):
            raise ParseError(f"{where}: no controller object")
        host = controller.get("host", "")
        if not isinstance(host, str):
            raise ParseError(f"{where}: controller.host is {type(host).__name__}")
        if "port" not in controller:
            raise ParseError(f"{where}: controller.port missing")
        port = json_int(controller["port"], "controller.port", where)
        rpc = (
            json_int(entry["rpc_version"], "rpc_version", where) if "rpc_version" in entry else None
        )
        clusters.append(ClusterRecord(name, host, port, rpc))
    parser, release = json_meta(doc)
    return ClusterList(tuple(clusters), "json", parser, release)

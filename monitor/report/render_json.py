"""``--format json``: the contract's fields per cluster and service, and more (see
``SCHEMA``, a JSON Schema; the README documents it). Times are ISO 8601 UTC; durations are
seconds (floats, exact to the microsecond); keys keep a fixed order."""

from __future__ import annotations

import json
from typing import Any

from monitor.ledger.timebase import US, iso
from monitor.report.causes import readable
from monitor.report.model import (
    ClusterSection,
    MaintenanceEntry,
    Report,
    ServiceSection,
    UnknownPeriod,
)

SCHEMA_ID = "slurm-sla-monitor/report/v1"


def _time(us: int | None) -> str | None:
    return None if us is None else iso(us)


def document(report: Report) -> dict[str, Any]:
    policy = report.inputs.policy
    return {
        "schema": SCHEMA_ID,
        "month": report.label,
        "timezone": report.timezone,
        "start": iso(report.month_start),
        "end": iso(report.end),
        "month_end": iso(report.month_end),
        "partial": report.partial,
        "inputs": {
            "ledger": {
                "first": _time(report.inputs.ledger_first),
                "last": _time(report.inputs.ledger_last),
            },
            "config_sha256": report.inputs.config_sha256,
            "program": report.inputs.program,
            "version": report.inputs.version,
            "settings": {
                "unknown_counts_as": policy.unknown_counts_as,
                "min_downtime_minutes": policy.min_downtime_us / (60 * US),
            },
        },
        "clusters": [_cluster(c) for c in report.clusters],
    }


def _cluster(c: ClusterSection) -> dict[str, Any]:
    return {
        "name": c.name,
        "met": c.met,
        "ledger": {"first": _time(c.ledger_first), "last": _time(c.ledger_last)},
        "services": [_service(s) for s in c.services],
    }


def _service(s: ServiceSection) -> dict[str, Any]:
    doc = s.period.to_dict()
    # (1 - objective) * eligible is not exact in binary: 2675.7000000000025 s reads badly
    # and means nothing past the microsecond the ledger counts in.
    for key in ("error_budget_seconds", "error_budget_remaining_seconds"):
        doc[key] = round(float(doc[key]), 6)  # type: ignore[arg-type]
    doc["error_budget_used_seconds"] = round(s.period.budget.used_seconds, 6)
    doc["incidents"] = [_incident(i) for i in doc["incidents"]]  # type: ignore[union-attr]
    doc["maintenance_windows"] = [_maintenance(m) for m in s.maintenance]
    doc["unknown_periods"] = [_unknown(u) for u in s.unknown_periods]
    return doc


def _incident(i: dict[str, Any]) -> dict[str, Any]:
    """The ledger's incident, its cause in words and as recorded, side by side."""
    out: dict[str, Any] = {}
    for key, value in i.items():
        if key == "cause":
            out["cause"] = readable(str(value))
            out["cause_code"] = value
        else:
            out[key] = value
    return out


def _maintenance(m: MaintenanceEntry) -> dict[str, Any]:
    return {
        "window_id": m.window_id,
        "start": iso(m.start),
        "end": iso(m.end),
        "seconds_in_period": m.in_period_us / US,
        "reason": m.reason,
        "services": list(m.services),
        "origin": m.origin,
        "repeat": m.repeat,
        "created_by": m.created_by,
        "cancelled_at": _time(m.cancelled_at),
        "cancelled_by": m.cancelled_by,
    }


def _unknown(u: UnknownPeriod) -> dict[str, Any]:
    return {
        "start": iso(u.start),
        "end": iso(u.end),
        "duration_seconds": u.duration_us / US,
        "kind": u.kind,
        "cause": readable(u.cause),
        "cause_code": u.cause,
    }


def render(report: Report) -> str:
    return json.dumps(document(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --- the schema ---------------------------------------------------------------------------

_TIME = {"type": "string", "format": "date-time", "pattern": "Z$"}
_TIME_OR_NULL = {"anyOf": [_TIME, {"type": "null"}]}
_SECONDS = {"type": "number"}
_NONNEG = {"type": "number", "minimum": 0}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
    }


_INCIDENT = _object(
    {
        "start": _TIME,
        "end": {**_TIME_OR_NULL, "description": "null: still down at the end of the period"},
        "duration_seconds": _NONNEG,
        "service": {"enum": ["slurmctld", "slurmdbd"]},
        "cause": {"type": "string", "description": "readable: 'both controllers down', ..."},
        "cause_code": {"type": "string", "description": "as recorded: 'no_controller', ..."},
        "downtime_seconds": {**_NONNEG, "description": "SLA-counted, inside the period"},
        "maintenance_seconds": _NONNEG,
        "unknown_seconds": _NONNEG,
        "ongoing": {"type": "boolean"},
    }
)
_FAILOVER = _object(
    {
        "at": _TIME,
        "service": {"enum": ["slurmctld", "slurmdbd"]},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "cause": {"enum": ["failover", "failback"]},
    }
)
_MAINTENANCE = _object(
    {
        "window_id": {"type": "integer"},
        "start": _TIME,
        "end": _TIME,
        "seconds_in_period": _NONNEG,
        "reason": {"type": "string"},
        "services": {"type": "array", "items": {"type": "string"}},
        "origin": {"enum": ["config", "cli"]},
        "repeat": {"enum": ["none", "daily", "weekly"]},
        "created_by": {"type": "string"},
        "cancelled_at": _TIME_OR_NULL,
        "cancelled_by": {"type": ["string", "null"]},
    }
)
_UNKNOWN = _object(
    {
        "start": _TIME,
        "end": _TIME,
        "duration_seconds": _NONNEG,
        "kind": {"enum": ["absent", "blind"]},
        "cause": {"type": "string"},
        "cause_code": {"type": "string"},
    }
)
_SERVICE = _object(
    {
        "cluster": {"type": "string"},
        "service": {"enum": ["slurmctld", "slurmdbd"]},
        "start": _TIME,
        "end": _TIME,
        "objective_percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
        "availability_percent": {
            "type": ["number", "null"],
            "minimum": 0,
            "maximum": 100,
            "description": "null: no eligible time (all maintenance or unknown)",
        },
        "downtime_seconds": _NONNEG,
        "maintenance_seconds": _NONNEG,
        "unknown_seconds": _NONNEG,
        "up_seconds": _NONNEG,
        "degraded_seconds": _NONNEG,
        "down_seconds": _NONNEG,
        "eligible_seconds": _NONNEG,
        "error_budget_seconds": _NONNEG,
        "error_budget_remaining_seconds": _SECONDS,
        "met": {"type": "boolean"},
        "incidents": {"type": "array", "items": _INCIDENT},
        "failovers": {"type": "array", "items": _FAILOVER},
        "error_budget_used_seconds": _NONNEG,
        "maintenance_windows": {"type": "array", "items": _MAINTENANCE},
        "unknown_periods": {"type": "array", "items": _UNKNOWN},
    }
)
_RANGE = _object({"first": _TIME_OR_NULL, "last": _TIME_OR_NULL})

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "slurm-sla-monitor monthly SLA report",
    **_object(
        {
            "schema": {"const": SCHEMA_ID},
            "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "timezone": {"type": "string"},
            "start": _TIME,
            "end": _TIME,
            "month_end": _TIME,
            "partial": {"type": "boolean"},
            "inputs": _object(
                {
                    "ledger": _RANGE,
                    "config_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "program": {"const": "slurm-sla-monitor"},
                    "version": {"type": "string"},
                    "settings": _object(
                        {
                            "unknown_counts_as": {"enum": ["excluded", "up", "down"]},
                            "min_downtime_minutes": _NONNEG,
                        }
                    ),
                }
            ),
            "clusters": {
                "type": "array",
                "items": _object(
                    {
                        "name": {"type": "string"},
                        "met": {"type": "boolean"},
                        "ledger": _RANGE,
                        "services": {"type": "array", "items": _SERVICE},
                    }
                ),
            },
        }
    ),
}

"""``--format json``: the contract's fields per cluster and service, and more (see
``SCHEMA``, a JSON Schema; the README documents it). Times are ISO 8601 UTC; durations are
seconds (floats, exact to the microsecond); keys keep a fixed order."""

from __future__ import annotations

import json
from typing import Any

from monitor.ledger.timebase import US, iso
from monitor.report import text
from monitor.report.causes import readable
from monitor.report.model import (
    ClusterSection,
    MaintenanceEntry,
    Report,
    ServiceSection,
    UnknownPeriod,
)
from monitor.report.status import Status, combined, met_field

SCHEMA_ID = "slurm-sla-monitor/report/v1"


def _time(us: int | None) -> str | None:
    return None if us is None else iso(us)


def document(report: Report) -> dict[str, Any]:
    doc = _document(report)
    if report.merged:  # only then: a single ledger's report keeps its bytes
        doc["inputs"]["replicas"] = list(report.replicas)
        doc["inputs"]["settings"]["disagreement"] = report.disagreement_rule
        for c, cdoc in zip(report.clusters, doc["clusters"], strict=True):
            for s, sdoc in zip(c.services, cdoc["services"], strict=True):
                sdoc["disagreements"] = [d.to_dict() for d in s.disagreements]
    return doc


def _document(report: Report) -> dict[str, Any]:
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
                "downtime_granularity": "minute" if policy.whole_minutes else "second",
                "degraded_counts_as": policy.degraded_weight,
            },
        },
        "clusters": [_cluster(c) for c in report.clusters],
        "customers": _customers(report),
    }


def _customers(report: Report) -> list[dict[str, Any]]:
    """Per customer (``[[clusters]] customer``): its clusters and the largest credit owed."""
    names: dict[str, list[ClusterSection]] = {}
    for c in report.clusters:
        if c.customer:
            names.setdefault(c.customer, []).append(c)
    out = []
    for name in sorted(names):
        owed = [c.credit_percent for c in names[name] if c.credit_percent is not None]
        status = combined(c.status for c in names[name])
        out.append(
            {
                "name": name,
                "clusters": [c.name for c in names[name]],
                "status": str(status),
                "credit_percent": max(owed) if owed else None,
            }
        )
    return out


def _cluster(c: ClusterSection) -> dict[str, Any]:
    return {
        "name": c.name,
        "customer": c.customer,
        "status": str(c.status),
        "met": met_field(c.status),
        "credit_percent": c.credit_percent,
        "failover_count": text.failover_counts(c)[0],
        "failback_count": text.failover_counts(c)[1],
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
    doc["status"] = str(s.status)
    doc["met"] = met_field(s.status)
    doc["projected_downtime_seconds"] = (
        None if s.projected_downtime_us is None else s.projected_downtime_us / US
    )
    doc["projected_availability_percent"] = (
        None if s.projected_availability is None else s.projected_availability * 100
    )
    doc["best_availability_percent"] = (
        None if s.best_availability is None else s.best_availability * 100
    )
    doc["credit_percent"] = None if s.credit is None else s.credit.percent
    doc["credit_tier_below_percent"] = None if s.credit is None else s.credit.below
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
        "retroactive": m.retroactive,
        "created_at": _time(m.created_at),
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
_STATUS = {
    "enum": [str(x) for x in Status],
    "description": "met; at_risk (a month in progress spending its budget faster than an "
    "even burn); breached (the budget is spent); no_data (nothing observed)",
}


def _object(properties: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every property required, none other allowed, but ``optional`` ones (a merged
    report's)."""
    return {
        "type": "object",
        "required": list(properties),
        "additionalProperties": False,
        "properties": {**properties, **(optional or {})},
    }


_DISAGREEMENT = _object(
    {
        "start": _TIME,
        "end": _TIME,
        "seconds": _NONNEG,
        "chosen": {"enum": ["up", "degraded", "down"], "description": "what counted"},
        "views": {
            "type": "object",
            "additionalProperties": {"enum": ["up", "degraded", "down", "unknown", "unmonitored"]},
            "description": "each replica's state, by replica name",
        },
    }
)


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
        "retroactive": {
            "type": "boolean",
            "description": "added after this occurrence began: it erased recorded downtime",
        },
        "created_at": _TIME_OR_NULL,
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
        "met": {
            "type": ["boolean", "null"],
            "description": "null: not enough data; false: breached; see status",
        },
        "incidents": {"type": "array", "items": _INCIDENT},
        "failovers": {"type": "array", "items": _FAILOVER},
        "error_budget_used_seconds": _NONNEG,
        "maintenance_windows": {"type": "array", "items": _MAINTENANCE},
        "unknown_periods": {"type": "array", "items": _UNKNOWN},
        "status": _STATUS,
        "projected_downtime_seconds": {
            "type": ["number", "null"],
            "description": "a month in progress: the month's downtime at the rate so far",
        },
        "projected_availability_percent": {"type": ["number", "null"]},
        "best_availability_percent": {
            "type": ["number", "null"],
            "description": "a month in progress: its availability if no more downtime comes",
        },
        "credit_percent": {
            "type": ["number", "null"],
            "description": "null: no [[sla.credits]] tier applies, or not enough data",
        },
        "credit_tier_below_percent": {"type": ["number", "null"]},
    },
    {
        "disagreements": {
            "type": "array",
            "items": _DISAGREEMENT,
            "description": "merged replicas only: where they observed different states",
        }
    },
)
_RANGE = _object({"first": _TIME_OR_NULL, "last": _TIME_OR_NULL})
_CUSTOMER = _object(
    {
        "name": {"type": "string"},
        "clusters": {"type": "array", "items": {"type": "string"}},
        "status": _STATUS,
        "credit_percent": {"type": ["number", "null"]},
    }
)

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
                            "downtime_granularity": {"enum": ["second", "minute"]},
                            "degraded_counts_as": {
                                "type": "number",
                                "minimum": 0,
                                "maximum": 1,
                                "description": "share of degraded time counted as down",
                            },
                        },
                        {"disagreement": {"enum": ["up", "down", "majority"]}},
                    ),
                },
                {"replicas": {"type": "array", "items": {"type": "string"}}},
            ),
            "clusters": {
                "type": "array",
                "items": _object(
                    {
                        "name": {"type": "string"},
                        "customer": {"type": ["string", "null"]},
                        "status": _STATUS,
                        "met": {"type": ["boolean", "null"]},
                        "credit_percent": {
                            "type": ["number", "null"],
                            "description": "the largest credit owed for its services",
                        },
                        "failover_count": {"type": "integer", "minimum": 0},
                        "failback_count": {"type": "integer", "minimum": 0},
                        "ledger": _RANGE,
                        "services": {"type": "array", "items": _SERVICE},
                    }
                ),
            },
            "customers": {"type": "array", "items": _CUSTOMER},
        }
    ),
}

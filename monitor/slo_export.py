"""``slurm-sla slo export --format openslo``: the configured objectives as OpenSLO v1
documents, so tools that read OpenSLO (dashboards, SLO platforms) know what we promise.

Per cluster one ``Service``, and per cluster and service one ``SLO``: a calendar month in
``[sla] timezone``, time-slice budgeting over one-minute slices of the availability SLI
that ``/metrics`` exposes (``slurm_service_up``), the objective as the target. OpenSLO has
no field for planned maintenance, so the windows of the config file are noted as
annotations (and in the description, with their reasons); windows added with
``slurm-sla maintenance add`` live in the state store and are excluded the same way.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any

import yaml

from monitor.cli_args import add_config_argument
from monitor.config import Config, MaintenanceWindow, load_config
from monitor.errors import MonitorError
from monitor.ledger.query import objective_ratio, services_of

API_VERSION = "openslo/v1"
PREFIX = "slurm-sla-monitor.io/"  # the namespace of our annotation keys
FORMATS = ("openslo",)
# OpenSLO names: lower-case letters, digits, '.', '|', '/', '\' and '-'.
_NAME_BAD = re.compile(r"[^a-z0-9.\-]+")
# Label and annotation values: at most 63 of letters, digits, '.', '_' and '-'.
_VALUE_BAD = re.compile(r"[^a-zA-Z0-9._-]+")
_UTC_ALIASES = {"UTC", "GMT", "Z", "Zulu", "UCT", "Universal", "Etc/UTC"}
DESCRIPTION_MAX = 1050


def name(*parts: str) -> str:
    text = _NAME_BAD.sub("-", "-".join(parts).lower()).strip("-.")
    return text[:255] or "x"


def value(text: str) -> str:
    return _VALUE_BAD.sub("-", text).strip("-._")[:63] or "x"


def timezone(tz: str) -> str:
    """OpenSLO wants an Area/Location name: UTC is written Etc/UTC."""
    return "Etc/UTC" if tz in _UTC_ALIASES else tz


def _compact(instant) -> str:  # noqa: ANN001 - a datetime
    return instant.strftime("%Y%m%dT%H%M%SZ")


def window_value(w: MaintenanceWindow) -> str:
    """``20261201T020000Z-20261201T040000Z[-weekly[-until-...]]``: within 63 characters of
    the characters an annotation value may hold."""
    text = f"{_compact(w.start)}-{_compact(w.end)}"
    if w.repeat != "none":
        text += f"-{w.repeat}" + (f"-until-{_compact(w.until)}" if w.until else "")
    return text


def _applies(w: MaintenanceWindow, cluster: str, service: str) -> bool:
    return (w.clusters is None or cluster in w.clusters) and (
        w.services is None or service in w.services
    )


def _query(cluster: str, service: str) -> str:
    return f'slurm_service_up{{cluster="{cluster}",service="{service}"}}'


def slo_document(config: Config, cluster: str, service: str) -> dict[str, Any]:
    objective = objective_ratio(config, cluster, service)
    sla = config.sla
    windows = [w for w in config.maintenance if _applies(w, cluster, service)]
    annotations = {
        f"{PREFIX}objective-percent": value(f"{objective * 100:g}"),
        f"{PREFIX}downtime-granularity": sla.downtime_granularity,
        f"{PREFIX}unknown-counts-as": sla.unknown_counts_as,
        f"{PREFIX}min-downtime-minutes": value(f"{sla.min_downtime_minutes:g}"),
        f"{PREFIX}maintenance-excluded": "true",
        f"{PREFIX}availability-metric": "slurm_sla_availability_ratio",
    }
    for i, w in enumerate(windows, 1):
        annotations[f"{PREFIX}maintenance-{i}"] = window_value(w)
    description = (
        f"{service} of Slurm cluster {cluster}: available (answering through any "
        f"controller) {objective * 100:g} % of each calendar month in {sla.timezone}, planned "
        "maintenance excluded (OpenSLO has no field for it: see the annotations)."
    )
    for i, w in enumerate(windows, 1):
        description += f" Maintenance {i}: {window_value(w)}" + (
            f" ({w.reason})." if w.reason else "."
        )
    if len(description) > DESCRIPTION_MAX:
        description = description[: DESCRIPTION_MAX - 3] + "..."
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {
            "name": name("slurm", cluster, service, "availability"),
            "displayName": f"{cluster} {service} availability",
            "labels": {"cluster": value(cluster), "service": service},
            "annotations": annotations,
        },
        "spec": {
            "description": description,
            "service": name("slurm", cluster),
            "indicator": {
                "metadata": {
                    "name": name("slurm", cluster, service, "up"),
                    "displayName": f"{cluster} {service} answers",
                },
                "spec": {
                    "thresholdMetric": {
                        "metricSource": {
                            "type": "Prometheus",
                            "spec": {"query": _query(cluster, service)},
                        }
                    }
                },
            },
            "timeWindow": [
                {
                    "duration": "1M",
                    "isRolling": False,
                    "calendar": {
                        "startTime": "2020-01-01 00:00:00",
                        "timeZone": timezone(sla.timezone),
                    },
                }
            ],
            "budgetingMethod": "Timeslices",
            "objectives": [
                {
                    "displayName": f"{service} up",
                    "op": "gte",
                    "value": 1,
                    "target": objective,
                    # A slice is good only if the service was up all of it: one minute
                    # with downtime counts, as downtime_granularity = "minute" does.
                    "timeSliceTarget": 1,
                    "timeSliceWindow": "1m",
                }
            ],
        },
    }


def service_document(cluster: str, accounting: bool) -> dict[str, Any]:
    daemons = "slurmctld and slurmdbd" if accounting else "slurmctld"
    return {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {"name": name("slurm", cluster), "displayName": f"Slurm cluster {cluster}"},
        "spec": {"description": f"The Slurm control plane of {cluster} ({daemons})."},
    }


def documents(config: Config) -> Iterable[dict[str, Any]]:
    """Every document, in config order. An objective of 100 % has no OpenSLO form (the
    target must be below 1): it is a MonitorError, not a silent omission."""
    for c in config.clusters:
        yield service_document(c.name, c.accounting)
        for service in services_of(config, c.name):
            if objective_ratio(config, c.name, service) >= 1:
                raise MonitorError(
                    f"{c.name} {service}: an objective of 100 % cannot be written in OpenSLO "
                    "(its target must be below 1)"
                )
            yield slo_document(config, c.name, service)


def render(config: Config) -> str:
    return yaml.safe_dump_all(
        list(documents(config)), sort_keys=False, explicit_start=True, allow_unicode=True
    )


def register_slo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "slo",
        help="export the configured objectives (OpenSLO)",
        description="The configured objectives in a form other tools read.",
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    p.set_defaults(handler=lambda args: _usage(p))
    export = actions.add_parser(
        "export",
        help="print the objectives as OpenSLO v1 YAML",
        description="Print the objectives as OpenSLO v1 YAML documents (apiVersion "
        "openslo/v1): a Service per cluster and an SLO per cluster and service, calendar "
        "month in [sla] timezone, time slices of the slurm_service_up SLI. Exit 0, or 1.",
    )
    add_config_argument(export)
    export.add_argument("--format", choices=FORMATS, default="openslo", help="openslo")
    export.set_defaults(handler=_export)


def _usage(p: argparse.ArgumentParser) -> int:
    from monitor.cli_args import COULD_NOT_RUN

    p.print_help(sys.stderr)
    return COULD_NOT_RUN


def _export(args: argparse.Namespace) -> int:
    sys.stdout.write(render(load_config(args.config)))
    return 0

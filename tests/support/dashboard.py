"""The Grafana dashboard's PromQL, for the tests that run it against a real Prometheus: every
expression by panel, annotation and variable, with Grafana's macros and $cluster filled in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "grafana" / "dashboards" / "slurm-sla-monitor.json"
CLUSTER = "lab"  # the cluster's name in the integration tests and in the real lab

# Grafana's macros, for a 1 s scrape interval and a test that lasts seconds.
MACROS = {"$__rate_interval": "10s", "$__interval": "10s", "$__range": "5m"}


def dashboard_queries(dashboard: dict) -> dict[str, str]:
    """Every PromQL expression of the dashboard, by "panel title / refId" (annotations: by
    "annotation NAME"; the $cluster variable's label_values() as the series it reads)."""
    queries: dict[str, str] = {}

    def panels(items: list[dict]) -> Iterator[dict]:
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(dashboard["panels"]):
        for t in p.get("targets", []):
            if t.get("expr"):
                key = f"{p['title']} / {t['refId']}"
                assert key not in queries, f"two queries named {key}"
                queries[key] = t["expr"]
    for a in dashboard["annotations"]["list"]:
        if a.get("expr"):
            queries[f"annotation {a['name']}"] = a["expr"]
    for v in dashboard["templating"]["list"]:
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", v["definition"])
            assert m, f"variable {v['name']}: unexpected query {v['definition']}"
            queries[f"variable {v['name']}"] = f"group by ({m.group(2)}) ({m.group(1)})"
    return queries


def substitute(expr: str, cluster: str = CLUSTER) -> str:
    for macro, value in MACROS.items():
        expr = expr.replace(macro, value)
    return expr.replace("${cluster}", cluster).replace("$cluster", cluster)


def dashboard_expressions(cluster: str = CLUSTER) -> list[str]:
    """Every PromQL expression of the dashboard, ready to run: $cluster set to ``cluster``,
    Grafana's macros to MACROS (also used by tests against the real cluster)."""
    queries = dashboard_queries(json.loads(DASHBOARD.read_text()))
    return [substitute(expr, cluster) for expr in queries.values()]

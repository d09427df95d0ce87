"""The shipped Prometheus rules and the metric names the monitor exports, for the tests
that check rules, dashboards and example rules against them (and run promtool on them)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, ProcessCollector

from exporters.collectors.ha_views import PeerViewCollector
from exporters.collectors.peer_pulls import PeerPullCollector
from exporters.collectors.replica import ReplicaCollector
from exporters.collectors.shard import ShardCollector
from exporters.collectors.store import StoreCollector
from monitor.config import parse_config
from monitor.ha.settings import HaSettings
from monitor.ledger.peers import PullStatus
from monitor.selfmetrics import MonitorMetrics
from monitor.snapshot import Snapshot, StoreStatus
from tests.support.debian import ensure_packages

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "alert_rules"
RULE_FILES = sorted(RULES_DIR.glob("*.rules.yml"))
SHARDED = '[monitor]\nshard = "1/1"\n[[clusters]]\nname = "prod"\n'
GOLDEN_EXPOSITIONS = [
    REPO / "tests" / "unit" / "golden" / "exposition.prom",  # the snapshot's collectors
    REPO / "tests" / "unit" / "golden" / "alerting" / "exposition.prom",  # AlertCollector
]
METRIC = re.compile(r"\b((?:slurm_|process_|cluster_service:)[a-zA-Z0-9_:]*)")


def promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    ensure_packages("prometheus", binary="promtool")
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def rules() -> list[dict]:
    return [
        r for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]
    ]


class _OnePeer:
    """Stands for the peer views and the gate: one peer heard from, one alert withheld."""

    def ages(self) -> dict[str, float]:
        return {"http://mon-b:9817": 1.0}

    def failures(self) -> dict[str, int]:
        return {"http://mon-b:9817": 0}

    def withheld_now(self) -> set[tuple[str, str]]:
        return {("prod", "SlurmctldDown")}


def known_metrics() -> set[str]:
    """Sample names we export: the golden expositions of our collectors, the store's, the
    monitor's own metrics, process_*, and the recording rules' names."""
    names: set[str] = set()
    suffixes = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    for path in GOLDEN_EXPOSITIONS:
        for line in path.read_text().splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                names |= {name + s for s in suffixes[kind]}
    registry = CollectorRegistry()
    MonitorMetrics(registry)
    ProcessCollector(registry=registry)
    now = dt.datetime.now(dt.UTC)
    registry.register(StoreCollector(lambda: Snapshot(now, now, store=StoreStatus(True))))
    registry.register(ReplicaCollector(lambda: HaSettings(replica="a")))
    registry.register(ShardCollector(lambda: parse_config(SHARDED)))
    registry.register(PeerPullCollector(lambda: [PullStatus("http://mon-b:9817", True, 1.0)]))
    registry.register(PeerViewCollector(_OnePeer(), _OnePeer()))  # type: ignore[arg-type]
    for family in registry.collect():
        kind_suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
        names |= {family.name + s for s in kind_suffixes.get(family.type, ("",))}
        names |= {s.name for s in family.samples}
    names |= {r["record"] for r in rules() if "record" in r}
    return names

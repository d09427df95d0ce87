"""alert_rules/ and grafana/: promtool accepts the rules and their unit tests pass; the rules
and the dashboard only use metrics we export and follow the contract's names and labels.

promtool comes with Debian's ``prometheus`` package (installed when missing, as root), so the
promtool tests are integration tests; the structural checks need nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from monitor.alerting.settings import RULE_SEVERITY
from tests.support.rules_metrics import METRIC, known_metrics, promtool, rules

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "alert_rules"
RULE_FILES = sorted(RULES_DIR.glob("*.rules.yml"))
RULE_TESTS = sorted((RULES_DIR / "tests").glob("*.yml"))
RUNBOOK = RULES_DIR / "RUNBOOK.md"
GRAFANA = REPO / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "slurm-sla-monitor.json"

CONTRACT_ALERTS = {
    "SlurmctldDown",
    "SlurmctldFailover",
    "SlurmctldBackupDown",
    "SlurmdbdDown",
    "SlurmdbdFailover",
    "SlurmdbdBackupDown",
    "SlurmctldSlow",
    "SlurmctldOverloaded",
    "SlurmdbdAgentQueueBacklog",
    "SlurmSLABudgetBurn",
    "SlurmMonitorBlind",
}
MONITOR_SELF_ALERTS = {
    "SlurmMonitorStale",
    "SlurmMonitorAbsent",
    "SlurmMonitorConfigReloadFailed",
    "SlurmMonitorStoreFailing",
    "SlurmMonitorNotificationsStuck",
    "SlurmMonitorShardUnwatched",
}
# About the monitor process, not a cluster: they carry job and instance instead.
PROCESS_ALERTS = MONITOR_SELF_ALERTS - {"SlurmMonitorStale"}
# Labels a rule may add; cluster comes from the expression (monitor-self alerts excepted).
RULE_LABELS = {"severity", "service", "daemon", "host", "role", "urgency"}


def alerts() -> list[dict]:
    return [r for r in rules() if "alert" in r]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(d: dict) -> list[dict]:
    """Every panel, those inside a collapsed row (which holds its own) included."""
    return [q for p in d["panels"] for q in (p, *p.get("panels", []))]


def dashboard_exprs() -> list[str]:
    d = dashboard()
    exprs = [t["expr"] for p in panels(d) for t in p.get("targets", []) if t.get("expr")]
    exprs += [a["expr"] for a in d["annotations"]["list"] if a.get("expr")]
    return exprs


# --- promtool --------------------------------------------------------------------------


@pytest.mark.integration
def test_promtool_check_rules():
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.integration
def test_promtool_rule_unit_tests_pass():
    result = promtool("test", "rules", *(p.name for p in RULE_TESTS), cwd=RULES_DIR / "tests")
    assert result.returncode == 0, result.stdout + result.stderr


# --- structure -------------------------------------------------------------------------


def test_alert_names_are_the_contracts_plus_the_monitor_itself():
    names = {a["alert"] for a in alerts()}
    assert names >= CONTRACT_ALERTS, CONTRACT_ALERTS - names
    assert names - CONTRACT_ALERTS == MONITOR_SELF_ALERTS


def test_the_built_in_rules_are_all_mirrored_with_their_default_severity():
    """One list of rules (settings.RULE_SEVERITY): a rule added to the engine must be added
    here too, or sites routing through Prometheus silently miss it."""
    mirrored = {a["alert"]: a["labels"]["severity"] for a in alerts()}
    for name, severity in RULE_SEVERITY.items():
        assert name in mirrored, f"{name} has no Prometheus mirror"
        if name != "SlurmSLABudgetBurn":  # page critical, ticket warning
            assert mirrored[name] == severity, name


def test_every_alert_has_severity_annotations_and_a_runbook_section():
    anchors = {
        re.sub(r"[^a-z0-9-]", "", h.lower())
        for h in re.findall(r"^## (.+)$", RUNBOOK.read_text(), re.M)
    }
    for a in alerts():
        name = a["alert"]
        assert a["labels"]["severity"] in ("critical", "warning", "info"), name
        assert set(a["labels"]) <= RULE_LABELS, (name, a["labels"])
        assert {"summary", "description", "runbook_url"} <= set(a["annotations"]), name
        url = a["annotations"]["runbook_url"]
        assert url.endswith(f"RUNBOOK.md#{name.lower()}"), (name, url)
        assert name.lower() in anchors, f"RUNBOOK.md has no section for {name}"


def test_cluster_alerts_keep_the_cluster_label_and_drop_the_scrape_labels():
    """Aggregated to the contract's labels, so Alertmanager deduplicates them with the
    monitor's own alerts and across monitor replicas."""
    for a in alerts():
        if a["alert"] in PROCESS_ALERTS:
            continue
        expr = " ".join(a["expr"].split())
        bys = re.findall(r"\bby \(([^)]*)\)", expr)
        if a["alert"] == "SlurmSLABudgetBurn":
            assert "cluster_service:" in expr  # recording rules: by (cluster, service)
            continue
        assert bys, a["alert"]
        outer = [b.replace(" ", "").split(",") for b in bys]
        assert all("cluster" in b for b in outer), (a["alert"], bys)
        assert not any({"instance", "job"} & set(b) for b in outer), (a["alert"], bys)


def test_no_rule_or_panel_depends_on_the_scrape_jobs_name():
    """Prometheus setups name the monitor's job as they like; a `job="..."` matcher would
    make SlurmMonitorAbsent fire (or never fire) for a name that is not ours."""
    matcher = re.compile(r"\bjob\s*(=|!=|=~|!~)")
    for r in rules():
        assert not matcher.search(r["expr"]), r.get("alert") or r.get("record")
    for expr in dashboard_exprs():
        assert not matcher.search(expr), expr


def test_every_alert_is_unit_tested_firing_and_not_firing():
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for t in case.get("alert_rule_test", []):
                (fired if t.get("exp_alerts") else quiet).add(t["alertname"])
    names = {a["alert"] for a in alerts()}
    assert names - fired == set(), "never tested firing"
    assert names - quiet == set(), "never tested staying quiet"


def test_recording_rules_cover_every_sli_window():
    recorded = {r["record"] for r in rules() if "record" in r}
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert f"cluster_service:slurm_service_error:ratio_avg{window}" in recorded
        assert f"cluster_service:slurm_service_error_budget:burn_rate{window}" in recorded


def test_rules_and_dashboard_use_only_metrics_we_export():
    known = known_metrics()
    used = {m for r in rules() for m in METRIC.findall(r["expr"])}
    used |= {m for e in dashboard_exprs() for m in METRIC.findall(e)}
    assert used - known == set()


def test_dashboard_uses_the_datasource_variable_never_a_uid():
    d = dashboard()
    assert d["schemaVersion"] >= 39
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["cluster"]["datasource"]["uid"] == "${datasource}"
    text = DASHBOARD.read_text()
    uids = set(re.findall(r'"uid":\s*"([^"]*)"', text)) - {d["uid"]}
    assert uids <= {"${datasource}", "-- Grafana --"}, uids
    for p in panels(d):
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]


def test_dashboard_panels_filter_on_cluster_and_are_uniquely_titled():
    d = dashboard()
    shown = [p for p in panels(d) if p["type"] != "row"]
    titles = [p["title"] for p in shown]
    assert len(titles) == len(set(titles))  # the integration test names queries by title
    ids = [p["id"] for p in panels(d)]
    assert len(ids) == len(set(ids))
    for p in shown:
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p["title"]
        for t in p["targets"]:
            assert '=~"$cluster"' in t["expr"], (p["title"], t["expr"])
    kinds = {p["type"] for p in shown}
    assert "state-timeline" in kinds


def test_provisioning_files_parse_and_point_at_the_dashboards():
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "slurm-sla-monitor.yml").read_text()
    )
    assert provider["apiVersion"] == 1
    assert provider["providers"][0]["type"] == "file"
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.example.yml").read_text()
    )
    assert datasource["datasources"][0]["type"] == "prometheus"

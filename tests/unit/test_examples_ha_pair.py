"""examples/ha-pair/ (README "HA: deploying a pair"): replica a's config is valid, replica b's
is the same file with the two marked lines changed, the Alertmanager configuration comes
out of it, Prometheus scrapes the replicas the configs name with a `replica` label and loads
rule files that exist, and the pair's rules use only metrics the monitor exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from monitor.alerting.amconfig import generate
from monitor.config import parse_config
from tests.support.rules_metrics import METRIC, known_metrics, promtool

REPO = Path(__file__).resolve().parents[2]
PAIR = REPO / "examples" / "ha-pair"
MARK = re.compile(r"^(?P<line>.*?)\s*# b: (?P<b>.*)$")


def configs() -> dict[str, str]:
    """Replica a's file, and b's as the comments marked "b:" say to write it."""
    a = (PAIR / "config.toml").read_text()
    b = "".join(
        (m.group("b") + "\n") if (m := MARK.match(line)) else line + "\n" for line in a.splitlines()
    )
    return {"a": a, "b": b}


def test_both_replicas_configs_are_valid_and_differ_only_in_replica_and_peers():
    texts = configs()
    parsed = {name: parse_config(text) for name, text in texts.items()}
    for name, config in parsed.items():
        assert config.ha is not None and config.ha.replica == name
        assert config.ha.report_sender == "a"
        assert config.report.mail_receiver in {r.name for r in config.ha.receivers}
        assert config.ha.peer_user and config.ha.peer_password_file
    assert parsed["a"].ha.peers == ("https://mon-b:9817",)
    assert parsed["b"].ha.peers == ("https://mon-a:9817",)
    changed = [
        (x, y)
        for x, y in zip(texts["a"].splitlines(), texts["b"].splitlines(), strict=True)
        if x != y
    ]
    assert [x.split("=")[0].strip() for x, _ in changed] == ["replica", "peers"]
    # one alertmanager.yml for both Alertmanagers, whichever replica's file makes it
    assert generate(parsed["a"]) == generate(parsed["b"])


def test_prometheus_scrapes_each_replica_with_its_label_and_loads_existing_rules():
    prom = yaml.safe_load((PAIR / "prometheus.yml").read_text())
    (job,) = prom["scrape_configs"]
    labelled = {
        c["labels"]["replica"]: c["targets"][0].split(":")[0] for c in job["static_configs"]
    }
    peers = {name: parse_config(text).ha.peers for name, text in configs().items()}
    assert labelled == {"a": "mon-a", "b": "mon-b"}
    for name, host in labelled.items():  # each target is the host the other replica pulls
        others = [p for other, urls in peers.items() if other != name for p in urls]
        assert others == [f"{job['scheme']}://{host}:9817"]
    shipped = {p.name for p in (REPO / "alert_rules").glob("*.rules.yml")}
    shipped |= {p.name for p in PAIR.glob("*.rules.yml")}
    assert {Path(f).name for f in prom["rule_files"]} <= shipped
    assert {Path(f).name for f in prom["rule_files"]} >= {"slurm_sla_ha.rules.yml"}


def test_the_pairs_rules_read_only_exported_metrics_and_the_labelled_job():
    rules = [
        r
        for g in yaml.safe_load((PAIR / "slurm_sla_pair.rules.yml").read_text())["groups"]
        for r in g["rules"]
    ]
    used = {m for r in rules for m in METRIC.findall(r["expr"])}
    assert used and used <= known_metrics()
    job = yaml.safe_load((PAIR / "prometheus.yml").read_text())["scrape_configs"][0]["job_name"]
    assert any(f'job="{job}"' in r["expr"] for r in rules)


@pytest.mark.integration
def test_promtool_accepts_the_pairs_rules():
    result = promtool("check", "rules", str(PAIR / "slurm_sla_pair.rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alertmanager_default_file_names_the_other_peer():
    text = (PAIR / "prometheus-alertmanager.default").read_text()
    (args,) = re.findall(r'^ARGS="([^"]*)"$', text, re.M)
    assert "--cluster.peer=am2:9094" in args.split()
    assert (
        subprocess.run(["sh", "-n", str(PAIR / "prometheus-alertmanager.default")]).returncode == 0
    )

"""``slurm-sla slo export --format openslo``: OpenSLO v1 documents of the configured
objectives, valid against the OpenSLO v1 schema (the subset we write, kept as a fixture with
its source in tests/fixtures/openslo), and saying what the config says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from monitor.cli import main

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "openslo" / "v1-subset.schema.json")
    .read_text()
)  # fmt: skip

CONFIG = """
[monitor]
state_dir = "{state}"
[[clusters]]
name = "Prod_EU"
[[clusters]]
name = "lab"
accounting = false
[clusters.slo]
slurmctld = 99.5
[slo]
slurmctld = 99.9
slurmdbd = 99.5
[sla]
timezone = "{tz}"
downtime_granularity = "minute"
[[maintenance]]
start = 2026-12-01T02:00:00Z
end = 2026-12-01T04:00:00Z
clusters = ["Prod_EU"]
services = ["slurmdbd"]
reason = "MariaDB upgrade"
[[maintenance]]
start = 2026-12-06T01:00:00Z
end = 2026-12-06T02:00:00Z
repeat = "weekly"
until = 2027-03-01T00:00:00Z
reason = "patching"
"""


def export(tmp_path, capsys, tz="Europe/Berlin", text=CONFIG):
    path = tmp_path / "config.toml"
    path.write_text(text.format(state=tmp_path / "state", tz=tz))
    code = main(["slo", "export", "--format", "openslo", "--config", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_schema_fixture_is_a_schema_and_rejects_what_openslo_rejects():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    bad = {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "Bad_Name"},
           "spec": {"service": "x", "budgetingMethod": "Timeslices",
                    "objectives": [{"target": 0.999}], "indicatorRef": "x"}}  # fmt: skip
    errors = list(jsonschema.Draft7Validator(SCHEMA).iter_errors(bad))
    assert errors  # an upper-case name, and time slices without their window and target


def test_every_document_is_valid_openslo_v1(tmp_path, capsys):
    code, out, err = export(tmp_path, capsys)
    assert code == 0 and err == ""
    docs = list(yaml.safe_load_all(out))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Service", "slurm-prod-eu"),
        ("SLO", "slurm-prod-eu-slurmctld-availability"),
        ("SLO", "slurm-prod-eu-slurmdbd-availability"),
        ("Service", "slurm-lab"),
        ("SLO", "slurm-lab-slurmctld-availability"),
    ]
    validator = jsonschema.Draft7Validator(SCHEMA)
    for doc in docs:
        assert doc["apiVersion"] == "openslo/v1"
        assert not list(validator.iter_errors(doc)), doc["metadata"]["name"]


def test_the_slo_says_what_the_config_says(tmp_path, capsys):
    _, out, _ = export(tmp_path, capsys)
    slos = {d["metadata"]["name"]: d for d in yaml.safe_load_all(out) if d["kind"] == "SLO"}
    dbd = slos["slurm-prod-eu-slurmdbd-availability"]
    spec = dbd["spec"]
    assert spec["service"] == "slurm-prod-eu" and spec["budgetingMethod"] == "Timeslices"
    assert spec["timeWindow"] == [{"duration": "1M", "isRolling": False, "calendar": {
        "startTime": "2020-01-01 00:00:00", "timeZone": "Europe/Berlin"}}]  # fmt: skip
    (objective,) = spec["objectives"]
    assert objective["target"] == 0.995 and objective["timeSliceWindow"] == "1m"
    query = spec["indicator"]["spec"]["thresholdMetric"]["metricSource"]["spec"]["query"]
    assert query == 'slurm_service_up{cluster="Prod_EU",service="slurmdbd"}'
    notes = dbd["metadata"]["annotations"]
    assert notes["slurm-sla-monitor.io/maintenance-1"] == "20261201T020000Z-20261201T040000Z"
    assert notes["slurm-sla-monitor.io/maintenance-2"] == (
        "20261206T010000Z-20261206T020000Z-weekly-until-20270301T000000Z"
    )
    assert notes["slurm-sla-monitor.io/downtime-granularity"] == "minute"
    assert "MariaDB upgrade" in spec["description"] and "patching" in spec["description"]
    ctl = slos["slurm-prod-eu-slurmctld-availability"]["metadata"]["annotations"]
    assert "slurm-sla-monitor.io/maintenance-2" not in ctl  # the dbd-only window is not here
    assert ctl["slurm-sla-monitor.io/maintenance-1"].endswith("weekly-until-20270301T000000Z")
    lab = slos["slurm-lab-slurmctld-availability"]["spec"]["objectives"][0]
    assert lab["target"] == 0.995  # the cluster's own objective


def test_utc_is_written_as_an_area_location_name(tmp_path, capsys):
    _, out, _ = export(tmp_path, capsys, tz="UTC")
    docs = [d for d in yaml.safe_load_all(out) if d["kind"] == "SLO"]
    assert {d["spec"]["timeWindow"][0]["calendar"]["timeZone"] for d in docs} == {"Etc/UTC"}
    assert all(not list(jsonschema.Draft7Validator(SCHEMA).iter_errors(d)) for d in docs)


def test_an_objective_of_100_percent_is_one_line_and_exit_1(tmp_path, capsys):
    text = CONFIG.replace("slurmctld = 99.9", "slurmctld = 100")
    code, out, err = export(tmp_path, capsys, text=text)
    assert code == 1 and out == ""
    assert err.strip() == (
        "slurm-sla: Prod_EU slurmctld: an objective of 100 % cannot be written in OpenSLO "
        "(its target must be below 1)"
    )


def test_a_missing_config_could_not_run(tmp_path, capsys):
    code = main(["slo", "export", "--config", str(tmp_path / "none.toml")])
    assert code == 4 and len(capsys.readouterr().err.strip().splitlines()) == 1

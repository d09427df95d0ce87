"""``/status`` and ``/status.json`` on the HTTP endpoint, over the known month of
``support/report_month``: behind the web config's basic auth like ``/metrics``, or open with
``[status] auth = false`` while ``/metrics`` stays protected; per customer; 503 without a
store. Also ``slurm-sla status --output DIR``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import bcrypt
import pytest
from prometheus_client import CollectorRegistry, Gauge

from exporters.http import Health, MetricsServer
from exporters.web_config import load_web_config
from monitor.cli import main
from monitor.config import load_config
from monitor.ledger.timebase import to_us
from monitor.snapshot import Snapshot
from monitor.status.endpoint import StatusEndpoint
from monitor.status.settings import StatusSettings
from tests.support.http_client import basic, get
from tests.support.report_month import NOW, in_october, october  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("in_october")
HASHED = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()


def _config(**status):
    cfg = load_config("config.toml")
    cluster = dataclasses.replace(cfg.clusters[0], customer="acme")
    return dataclasses.replace(cfg, clusters=(cluster,), status=StatusSettings(**status))


def _serve(tmp_path: Path, config) -> tuple[MetricsServer, StatusEndpoint]:
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  viewer: {HASHED}\n")
    registry = CollectorRegistry()
    Gauge("slurm_test_value", "a value", registry=registry).set(7)
    status = StatusEndpoint(lambda: config, lambda: Snapshot(NOW, NOW), lambda: to_us(NOW))
    server = MetricsServer(
        "127.0.0.1", 0, registry, lambda: Health(True, {}), load_web_config(web), status=status
    )
    server.start()
    return server, status


def test_status_is_protected_like_metrics_by_default(tmp_path):
    server, status = _serve(tmp_path, _config())
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert get(f"{base}/status")[0] == 401
        assert get(f"{base}/status.json")[0] == 401
        code, body, headers = get(f"{base}/status", basic(b"viewer:s3cret"))
        assert code == 200 and headers["Content-Type"].startswith("text/html")
        assert body.count('class="day ') == 2 * 90
        code, body, headers = get(f"{base}/status.json", basic(b"viewer:s3cret"))
        assert code == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["clusters"][0]["name"] == "prod"
    finally:
        server.stop()
        status.close()


def test_open_status_keeps_metrics_protected(tmp_path):
    server, status = _serve(tmp_path, _config(auth=False, public=True))
    base = f"http://127.0.0.1:{server.port}"
    try:
        code, body, _ = get(f"{base}/status.json")
        assert code == 200
        doc = json.loads(body)
        services = json.dumps([c["services"] for c in doc["clusters"]])
        assert doc["public"] is True and "ctl1" not in services and "ctl2" not in services
        assert get(f"{base}/status")[0] == 200
        assert get(f"{base}/metrics")[0] == 401
        assert get(f"{base}/healthz")[0] == 401
        assert get(f"{base}/metrics", basic(b"viewer:s3cret"))[0] == 200
    finally:
        server.stop()
        status.close()


def test_customer_views_and_an_unknown_customer(tmp_path):
    server, status = _serve(tmp_path, _config(auth=False))
    base = f"http://127.0.0.1:{server.port}"
    try:
        code, body, _ = get(f"{base}/status.json?customer=acme")
        assert code == 200
        doc = json.loads(body)
        assert doc["customer"] == "acme" and [c["name"] for c in doc["clusters"]] == ["prod"]
        code, body, _ = get(f"{base}/status?customer=initech")
        assert (code, body) == (404, "no cluster has customer 'initech'\n")
    finally:
        server.stop()
        status.close()


def test_no_store_yet_is_a_503_in_one_line(tmp_path):
    config = _config(auth=False)
    empty = dataclasses.replace(config.monitor, state_dir=tmp_path / "none")
    server, status = _serve(tmp_path, dataclasses.replace(config, monitor=empty))
    try:
        code, body, headers = get(f"http://127.0.0.1:{server.port}/status")
        assert code == 503 and body.count("\n") == 1 and headers["Retry-After"] == "10"
    finally:
        server.stop()
        status.close()


def test_the_static_page_is_the_same_page(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["status", "--config", "config.toml", "--output", str(out)]) == 0
    html = (out / "index.html").read_text()
    doc = json.loads((out / "status.json").read_text())
    assert html.startswith("<!doctype html>") and html.count('class="day ') == 2 * 90
    assert [d["date"] for d in doc["clusters"][0]["services"][0]["days"]][-1] >= "2026-11-02"
    assert f"wrote {out / 'index.html'}" in capsys.readouterr().out
    assert main(["status", "--config", "config.toml", "--output", str(out), "--public"]) == 0
    public = json.loads((out / "status.json").read_text())
    assert "ctl1" not in json.dumps(public["clusters"][0]["services"])
    assert main(["status", "--config", "config.toml", "--output", str(out),
                 "--customer", "nobody"]) == 1  # fmt: skip
    assert "no cluster has customer 'nobody'" in capsys.readouterr().err

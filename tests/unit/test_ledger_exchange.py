"""The ledger exchange between HA replicas, over real HTTP on loopback: replica b's
endpoint serves /ledger/export behind its basic auth, replica a pulls it into
state_dir/peers, and a's report then merges both without --ledger: the same report as
`--ledger a --ledger b`. Pulling again stores nothing twice; a cut-off answer is refused."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import bcrypt
import pytest
import requests
from freezegun import freeze_time
from prometheus_client import CollectorRegistry

from exporters.http import Health, MetricsServer
from exporters.web_config import WebConfig
from monitor.cli import main
from monitor.errors import MonitorError
from monitor.ha.peer_auth import PeerAuth
from monitor.ledger.exchange import export_lines, parse_export
from monitor.ledger.peers import ExportPage, PeerPuller, Pulled, pull
from monitor.ledger.replicas import peer_paths
from monitor.ledger.store import EventRow, Heartbeat, LedgerStore
from monitor.statestore import MIGRATIONS, open_state_store
from monitor.store.db import DB_NAME, Database
from tests.support.replicas import CONFIG, NOW, minute, pair

AUTH = ("peer", "s3cret")


@pytest.fixture
def served(tmp_path: Path):
    a, b = pair(tmp_path)
    web = WebConfig(users={AUTH[0]: bcrypt.hashpw(AUTH[1].encode(), bcrypt.gensalt(4))})
    server = MetricsServer(
        "127.0.0.1", 0, CollectorRegistry(), lambda: Health(True, {}), web,
        ledger=ExportPage(lambda: b, lambda: "mon-b"),
    )  # fmt: skip
    server.start()
    try:
        yield tmp_path, a, b, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def report(capsysbinary, config: Path, *argv: str) -> bytes:
    with freeze_time(NOW):
        code = main(["report", "--config", str(config), "--month", "2026-10", *argv])
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    return out


def test_pull_over_http_then_the_report_merges_without_arguments(capsysbinary, served):
    base, a, b, url = served
    assert requests.get(url + "/ledger/export", timeout=5).status_code == 401
    got = pull(url, a, auth=AUTH)
    assert got.replica == "mon-b" and got.records > 0
    assert peer_paths(a) == [a / "peers" / "mon-b.sqlite3"]
    config = base / "config.toml"
    config.write_text(CONFIG.format(state=a))
    for fmt in ("json", "md"):
        auto = report(capsysbinary, config, "--format", fmt)
        given = report(
            capsysbinary, config, "--format", fmt, "--ledger", f"mon-a={a}",
            "--ledger", f"mon-b={b}",
        )  # fmt: skip
        assert auto == given
    # [ha] replica would name the local ledger; without it, its latest run's host does
    doc = json.loads(report(capsysbinary, config, "--format", "json"))
    assert doc["inputs"]["replicas"] == ["mon-a", "mon-b"]


def test_pulling_again_stores_only_what_is_new(served):
    _, a, b, url = served
    pull(url, a, auth=AUTH)
    assert pull(url, a, auth=AUTH).records == 0
    store = LedgerStore(open_state_store(b))
    run = store.begin_run(minute(60 * 24 * 30), 1, "mon-b", "test")
    at = minute(60 * 24 * 30 + 1)
    store.record(
        run,
        [EventRow("prod", "service", "slurmctld", "slurmctld", "", "", "", "unknown", "up",
                  "ok", at, at, at, 0)],
        [Heartbeat("prod", None, at, at + 1, 1)],
    )  # fmt: skip
    store.db.close()
    again = pull(url, a, auth=AUTH)
    assert again.records == 3  # the run, its heartbeat, its transition
    peer = LedgerStore(Database(again.path, migrations=MIGRATIONS))
    try:
        assert peer.last_service_states()[("prod", "slurmctld")] == ("up", at, run)
        assert peer.last_heartbeats() == {"prod": at + 1}
    finally:
        peer.db.close()


def test_wrong_password_and_unreachable_peer_are_one_line(capsys, served, tmp_path):
    base, a, _, url = served
    with pytest.raises(MonitorError, match="HTTP 401"):
        pull(url, a, auth=("peer", "nope"))
    config = base / "config.toml"
    config.write_text(CONFIG.format(state=a))
    code = main(["ledger", "pull", "--config", str(config), "--from", "http://127.0.0.1:9"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("slurm-sla: http://127.0.0.1:9: ")


def test_the_cli_pulls_with_a_password_file(capsys, served):
    base, a, _, url = served
    config = base / "config.toml"
    config.write_text(CONFIG.format(state=a))
    secret = base / "password"
    secret.write_text(AUTH[1] + "\n")
    code = main(["ledger", "pull", "--config", str(config), "--from", url, "--user", AUTH[0],
                 "--password-file", str(secret)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "replica mon-b" in out


def test_an_export_cut_short_is_refused(tmp_path):
    _, b = pair(tmp_path)
    conn = sqlite3.connect(b / DB_NAME, isolation_level=None)
    lines = list(export_lines(conn, "mon-b", 0))
    conn.close()
    assert parse_export(b"".join(lines)).replica == "mon-b"
    with pytest.raises(MonitorError, match="cut short"):
        parse_export(b"".join(lines[:-2] + lines[-1:]))
    with pytest.raises(MonitorError, match="cut short"):
        parse_export(b"".join(lines[:-1]))
    with pytest.raises(MonitorError, match="not a ledger export"):
        parse_export(b"<html>")


def test_ha_names_the_local_replica_and_its_rule_counts(capsysbinary, served):
    base, a, _, url = served
    pull(url, a, auth=AUTH)
    config = base / "config.toml"
    config.write_text(
        CONFIG.format(state=a)
        + '\n[ha]\nreplica = "east"\npeers = ["http://127.0.0.1:1"]\n'
        + 'alertmanagers = ["http://127.0.0.1:2"]\ndisagreement = "down"\n'
    )
    doc = json.loads(report(capsysbinary, config, "--format", "json"))
    assert doc["inputs"]["replicas"] == ["east", "mon-b"]
    assert doc["inputs"]["settings"]["disagreement"] == "down"
    assert doc["clusters"][0]["services"][0]["downtime_seconds"] == (80 + 30) * 60
    # the command line wins over the config
    doc = json.loads(report(capsysbinary, config, "--format", "json", "--disagreement", "up"))
    assert doc["clusters"][0]["services"][0]["downtime_seconds"] == 80 * 60


def test_the_daemons_puller_pulls_every_peer_and_keeps_going(served, tmp_path):
    _, a, _, url = served
    dead = "http://127.0.0.1:9"
    creds = PeerAuth(AUTH, True, "config")
    puller = PeerPuller(lambda: [dead, url], lambda: a, credentials=lambda: creds)
    got = puller.run_once()
    assert isinstance(got[dead], str) and dead in got[dead]
    assert isinstance(got[url], Pulled) and got[url].replica == "mon-b"
    puller = PeerPuller(lambda: [url], lambda: a, credentials=lambda: creds, interval=3600)
    puller.start()
    deadline = time.monotonic() + 10
    while url not in puller.last and time.monotonic() < deadline:
        time.sleep(0.01)
    puller.stop(timeout=10)  # stops at once: it waits between pulls on an Event
    assert not puller._thread.is_alive()
    assert puller.last[url].records == 0  # its first pass: nothing new

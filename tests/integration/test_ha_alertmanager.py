"""HA mode (issue 17) through the real Alertmanager (Debian's prometheus-alertmanager): the
generated config is valid for it, and two replicas sending the same alert to a two-peer
Alertmanager cluster make exactly one firing and one resolved notice at the receiver."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from monitor.alerting.amconfig import generate
from monitor.alerting.service import Alerting
from monitor.config import load_config
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from tests.support.alerting import DOWN, UP, status
from tests.support.alertmanager_cluster import PEER_TIMEOUT_SECONDS, alertmanager_cluster, alerts
from tests.support.debian import ensure_packages
from tests.support.receiver import Recorder, wait_until

pytestmark = pytest.mark.integration

GROUP_INTERVAL_SECONDS = 10.0  # a later peer's dedup wait (2 s) is open 1/5 of the time
FAST_RETRY = "[alerts.outbox]\nretry_initial_seconds = 0.2\nretry_max_seconds = 1\n"


def ha_config(
    tmp_path: Path, replica: str, alertmanagers: list[str], hook: str, alerts: str = ""
) -> Path:
    path = tmp_path / f"{replica}.toml"
    path.write_text(
        f'[monitor]\nstate_dir = "{tmp_path / replica}"\n[[clusters]]\nname = "prod"\n'
        f"{alerts}{FAST_RETRY}"
        f'[ha]\nreplica = "{replica}"\nalertmanagers = {json.dumps(alertmanagers)}\n'
        f'[[ha.receivers]]\nname = "oncall"\ntype = "webhook"\nurl = "{hook}"\n'
    )
    return path


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


def test_amtool_accepts_the_generated_config(tmp_path):
    ensure_packages("prometheus-alertmanager", binary="amtool")
    golden = Path(__file__).parents[1] / "unit" / "golden" / "alertmanager" / "ha.yml"
    mine = tmp_path / "am.yml"
    mine.write_text(
        generate(load_config(ha_config(tmp_path, "a", ["http://x:9093"], "http://h/x")))
    )
    for path in (golden, mine):
        result = subprocess.run(
            ["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout


def test_two_replicas_through_two_alertmanager_peers_page_once(tmp_path, recorder):
    hook = f"http://127.0.0.1:{recorder.port}/hook"
    # The Alertmanager config comes from the monitor's: first with placeholder URLs (the
    # receivers do not depend on them), then the replicas get the real ones.
    am_yml = tmp_path / "alertmanager.yml"
    # The group interval is the one setting not at its default: at the default 5m the
    # resolved notice would come minutes later. It stays well above the peers' dedup wait.
    interval = f"[alerts]\ngroup_interval_seconds = {GROUP_INTERVAL_SECONDS:g}\n"
    am_yml.write_text(
        generate(load_config(ha_config(tmp_path, "gen", ["http://x:1"], hook, interval)))
    )
    with alertmanager_cluster(am_yml, tmp_path) as urls:
        replicas = []
        for name in ("a", "b"):
            config = load_config(ha_config(tmp_path, name, urls, hook))
            db = Database.in_dir(config.monitor.state_dir, migrations=MIGRATIONS)
            replicas.append(Alerting(config, db))
        with contextlib.ExitStack() as stack:
            for r in replicas:
                r.start()
                stack.callback(r.stop)

            def round_(**state) -> None:
                for r in replicas:
                    now = dt.datetime.now(dt.UTC)
                    r.on_round(status(since=now, **state), [], now)

            round_(ctl1=DOWN, ctl2=UP)  # a backup serves: SlurmctldFailover
            for url in urls:  # both replicas' copies are one alert, without a replica label
                (alert,) = wait_until(lambda u=url: alerts(u), what=f"the alert in {url}")  # type: ignore[misc]
                assert alert["labels"] == {
                    "alertname": "SlurmctldFailover",
                    "severity": "warning",
                    "cluster": "prod",
                    "service": "slurmctld",
                    "daemon": "slurmctld",
                    "host": "ctl2",
                    "role": "backup",
                }
            wait_until(lambda: notices(recorder, "firing"), what="the firing notice")
            # Resolve once every peer has looked in the gossiped notification log (a later
            # peer looks after its position's wait) and found the first peer's notice: the
            # next flush, with its wait, is a group interval away. A resolve landing inside
            # a later peer's wait pages twice: its stale "firing" meets the first peer's
            # "resolved" entry (Alertmanager 0.25's behaviour; see amconfig's docstring).
            wait_until(
                lambda: all(nflog_queries(u) > 0 for u in urls), 20, "every peer's dedup check"
            )
            round_()  # the primary is back
            wait_until(lambda: notices(recorder, "resolved"), 20, "the resolved notice")
            # Absence takes time to show: a second peer sends, if at all, within its
            # position's wait (one peer timeout) plus a group interval after the first.
            stays_single(recorder, 2 * PEER_TIMEOUT_SECONDS + 1.0)
    firing, resolved = notices(recorder, "firing"), notices(recorder, "resolved")
    assert len(firing) == 1 and len(resolved) == 1, (firing, resolved)
    assert resolved[0]["alerts"][0]["labels"]["alertname"] == "SlurmctldFailover"


def nflog_queries(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("alertmanager_nflog_queries_total")
    )


def timeline(recorder: Recorder) -> list[tuple[float, str, str]]:
    """When each notice came, from which peer (its externalURL), saying what."""
    return [
        (round(r["received"], 2), b["externalURL"], b["status"])
        for r in recorder.on("/hook")
        if (b := json.loads(r["body"]))
    ]


def notices(recorder: Recorder, state: str) -> list[dict]:
    return [b for r in recorder.on("/hook") if (b := json.loads(r["body"]))["status"] == state]


def stays_single(recorder: Recorder, seconds: float) -> None:
    """Fails at the first duplicate notice within ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert len(notices(recorder, "firing")) <= 1, timeline(recorder)
        assert len(notices(recorder, "resolved")) <= 1, notices(recorder, "resolved")
        time.sleep(0.05)


def test_one_replicas_blindness_does_not_mute_the_others_real_outage(tmp_path, recorder):
    """Replica a cannot see slurmctld (its munge broke) while replica b sees both
    controllers down: b's SlurmctldDown must page. Alerts carry no replica label, so an
    inhibition by SlurmMonitorBlind (the engine's own, for one monitor) would have muted
    it in the Alertmanagers: `alertmanager-config` leaves it out in HA mode."""
    hook = f"http://127.0.0.1:{recorder.port}/hook"
    am_yml = tmp_path / "alertmanager.yml"
    interval = f"[alerts]\ngroup_interval_seconds = {GROUP_INTERVAL_SECONDS:g}\n"
    am_yml.write_text(
        generate(load_config(ha_config(tmp_path, "gen", ["http://x:1"], hook, interval)))
    )
    with alertmanager_cluster(am_yml, tmp_path) as urls:
        a, b = (
            Alerting(config, Database.in_dir(config.monitor.state_dir, migrations=MIGRATIONS))
            for config in (load_config(ha_config(tmp_path, n, urls, hook)) for n in ("a", "b"))
        )
        with contextlib.ExitStack() as stack:
            for r in (a, b):
                r.start()
                stack.callback(r.stop)
            now = dt.datetime.now(dt.UTC)
            a.on_round(status(blind="auth", since=now), [], now)
            wait_until(
                lambda: any(
                    x["labels"]["alertname"] == "SlurmMonitorBlind" for x in alerts(urls[0])
                ),
                what="a's SlurmMonitorBlind in the Alertmanager",
            )
            now = dt.datetime.now(dt.UTC)
            b.on_round(status(ctl1=DOWN, ctl2=DOWN, since=now), [], now)

            def paged() -> list[str]:
                return [
                    x["labels"]["alertname"]
                    for n in notices(recorder, "firing")
                    for x in n["alerts"]
                ]

            wait_until(lambda: "SlurmctldDown" in paged(), 20, "b's SlurmctldDown at the receiver")

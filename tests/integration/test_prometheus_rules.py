"""alert_rules/ and the Grafana dashboard against a real Prometheus scraping the real daemon.

`slurm-sla run` probes stand-in Slurm commands: small /bin/sh scripts that replay the output,
stderr and exit code recorded from the real 22.05 test cluster (tests/fixtures/<kind>/
22.05-<situation>.*), in a situation switched by rewriting one file; the primary slurmdbd's
port is a loopback listener of the test's, the standby backup's a closed port. Prometheus
(Debian's package) scrapes the daemon every second and evaluates alert_rules/ every second.
Then:

1. healthy: every PromQL expression of the dashboard (panels, annotations, the $cluster
   variable) parses and returns data, except those listed in EMPTY_WHEN_HEALTHY;
2. the primary slurmctld killed, the backup serving: SlurmctldFailover shows up pending (its
   real `for: 1m` is kept) and SlurmctldDown does not; the failover-only queries now have
   data.

The dashboard's "HA pair" row is left to a second test: two daemons in HA mode (replicas a
and b, each pulling the other's ledger, each with its own stand-ins; every endpoint behind
basic auth, the peers' credentials in [ha] only), scraped with a `replica` target label as
the README says. Agreeing, every query of the row has data but the
withheld pages; then a sees both controllers down (cut off) while b sees them up: the row
shows the disagreement and a's withheld SlurmctldDown, and Prometheus raises no
SlurmctldDown; then a stops, stays listed as down, and the count of replicas up drops to 1.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import pytest
import requests

from tests.support.daemon import DaemonProcess, free_port, running_daemon
from tests.support.dashboard import CLUSTER, DASHBOARD, dashboard_queries, substitute
from tests.support.prometheus import Prometheus, PrometheusError

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
RULE_FILES = sorted((REPO / "alert_rules").glob("*.rules.yml"))

# Dashboard queries with no data while every daemon is up, and why. Keys: "panel / refId".
EMPTY_WHEN_HEALTHY = {
    "Active alerts (Prometheus rules) / A": "no alert is pending or firing",
    "Built-in alerts firing / A": "the monitor's own alerting has nothing firing",
    "annotation Failovers": "no failover happened",
    "Probe errors / A": "slurm_probe_errors_total has a series only once a probe failed",
    "Probe rounds per minute / C": "slurm_sla_monitor_round_errors_total: no round crashed",
    "Scheduling cycle times / E": "no backfill cycle yet: sdiag prints no backfill mean",
    "Co-located Slurm daemons / A": "the test cluster lists no local_daemons",
    "Co-located Slurm daemons: memory / A": "the test cluster lists no local_daemons",
}
# ... of which these must have data once the backup serves.
DATA_AFTER_FAILOVER = {
    "Active alerts (Prometheus rules) / A",
    "Built-in alerts firing / A",
    "annotation Failovers",
}

# Metrics that only appear when `slurm-sla run` wires the part behind them, and which part:
# when one is missing the panels reading it are empty, and the failure says why.
FROM_THE_COMPOSITION_ROOT = {
    "slurm_sla_objective_ratio": "the ledger's SLA figures (Daemon sla_source) are not wired",
    "slurm_sla_store_healthy": "the state store's status is not in the snapshot",
    "slurm_sla_alert_outbox_depth": "the alerting status (AlertCollector) is not registered",
}

# Our situations -> the recorded ones (tests/fixtures/<kind>/22.05-<recorded>.*).
SITUATIONS = {
    "healthy": "healthy",
    "primary-down": "primary-killed-after-takeover",
    "both-down": "both-killed",  # what a replica cut off from the controllers sees
}
# stand-in -> {its arguments (a `case` pattern: a trailing * globs) -> fixture kind}
COMMANDS = {
    "scontrol": {"ping": "ping", "show config": "show-config"},
    "sdiag": {"": "sdiag"},
    "sacctmgr": {
        "show stats": "sacctmgr-stats",
        "-nP show cluster*": "cluster",
        "ping": "sacctmgr-ping",
    },
}
STANDIN = """#!/bin/sh
# Stand-in for Slurm's {name} (tests/integration/test_prometheus_rules.py): replays the output
# recorded for the situation named in ../situation.
root=$(dirname "$0")/..
situation=$(cat "$root/situation") || exit 70
case "$*" in
{cases}  *) echo "{name} stand-in: no recording for: {name} $*" >&2; exit 64 ;;
esac
replay="$root/replay/$situation/$kind"
[ -f "$replay.out" ] || {{ echo "{name} stand-in: nothing recorded for $kind" >&2; exit 64; }}
cat "$replay.out"
cat "$replay.err" >&2
exit "$(cat "$replay.rc")"
"""
MUNGE = """#!/bin/sh
# Stand-in for munge's {name}: munge works on this host.
cat > /dev/null
echo "MUNGE:stand-in-credential:"
"""


@dataclass
class StandInSlurm:
    """``root/bin``: scontrol, sdiag, sacctmgr, munge, unmunge; ``set_situation`` switches
    what they replay; the primary slurmdbd "listens" on a loopback port of ours."""

    root: Path
    sources: dict[str, dict[str, str]] = field(default_factory=dict)  # situation -> kind -> file
    dbd_hosts: dict[str, str] = field(default_factory=dict)  # role -> host name
    _listener: socket.socket | None = None
    _closed_port: int = 0

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    def install(self) -> None:
        self.bin_dir.mkdir(parents=True)
        for name, cases in COMMANDS.items():
            text = "".join(f"  {_sh(args)}) kind={kind} ;;\n" for args, kind in cases.items())
            _executable(self.bin_dir / name, STANDIN.format(name=name, cases=text))
        for name in ("munge", "unmunge"):
            _executable(self.bin_dir / name, MUNGE.format(name=name))
        for situation in SITUATIONS:
            self._write_replay(situation)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed_port = free_port()  # nothing listens: a standby backup slurmdbd

    def _write_replay(self, situation: str) -> None:
        target = self.root / "replay" / situation
        target.mkdir(parents=True)
        self.sources[situation] = {}
        for kind in {k for cases in COMMANDS.values() for k in cases.values()}:
            recorded = FIXTURES / kind / f"22.05-{SITUATIONS[situation]}"
            meta_file = Path(f"{recorded}.meta.json")
            assert meta_file.exists(), f"{meta_file} missing: see tests/cluster/record_fixtures.py"
            rc = json.loads(meta_file.read_text())["returncode"]
            assert rc is not None, f"{meta_file}: the command timed out, nothing to replay"
            out, err = Path(f"{recorded}.txt"), Path(f"{recorded}.stderr")
            (target / f"{kind}.out").write_bytes(out.read_bytes())
            (target / f"{kind}.err").write_bytes(err.read_bytes())
            (target / f"{kind}.rc").write_text(f"{rc}\n")
            self.sources[situation][kind] = str(out.relative_to(FIXTURES))
        if situation == "healthy":
            config = (target / "show-config.out").read_text()
            for role, key in (
                ("primary", "AccountingStorageHost"),
                ("backup", "AccountingStorageBackupHost"),
            ):
                m = re.search(rf"^{key}\s*=\s*(\S+)", config, re.M)
                if m and m.group(1) != "(null)":
                    self.dbd_hosts[role] = m.group(1)

    def host_addresses(self) -> dict[str, str]:
        """The recorded slurmdbd host names -> where they "listen" here."""
        assert self._listener is not None
        ports = {"primary": self._listener.getsockname()[1], "backup": self._closed_port}
        return {host: f"127.0.0.1:{ports[role]}" for role, host in self.dbd_hosts.items()}

    def set_situation(self, name: str) -> None:
        tmp = self.root / "situation.tmp"
        tmp.write_text(name + "\n")
        os.replace(tmp, self.root / "situation")  # a stand-in never reads half a name

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()


def _sh(pattern: str) -> str:
    """A `case` pattern: the literal part quoted, a trailing * left as a glob."""
    return f'"{pattern[:-1]}"*' if pattern.endswith("*") else f'"{pattern}"'


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# --- the dashboard's PromQL --------------------------------------------------------------


@dataclass
class Evaluation:
    empty: set[str] = field(default_factory=set)  # no series at all
    nan_only: set[str] = field(default_factory=set)  # series, but every point NaN (0/0)
    errors: dict[str, str] = field(default_factory=dict)


def evaluate(prom: Prometheus, queries: dict[str, str], start: float, end: float) -> Evaluation:
    """Range-query each expression over [start, end], as Grafana does."""
    ev = Evaluation()
    for key, expr in queries.items():
        assert "$" not in substitute(expr), f"{key}: unknown variable in {expr}"
        try:
            result = prom.query_range(substitute(expr), start, end, 1)
        except PrometheusError as exc:
            ev.errors[key] = str(exc)
            continue
        points = [v for series in result for _, v in series["values"]]
        if not points:
            ev.empty.add(key)
        elif all(v == "NaN" for v in points):
            ev.nan_only.add(key)
    return ev


# --- the test ----------------------------------------------------------------------------


@pytest.fixture
def slurm(tmp_path) -> Iterator[StandInSlurm]:
    standin = StandInSlurm(tmp_path / "slurm")
    standin.install()
    standin.set_situation("healthy")
    yield standin
    standin.close()


def write_config(
    tmp_path: Path, slurm: StandInSlurm, port: int, ha: str = "", monitor: str = ""
) -> Path:
    """``ha``: an [ha] table, in place of the direct receiver (refused in HA mode);
    ``monitor``: more [monitor] keys."""
    addresses = ", ".join(f'{h} = "{a}"' for h, a in slurm.host_addresses().items())
    receiver = (
        # a receiver nobody answers: the notification panels have a receiver to show
        "[[receivers]]\n"
        'name = "oncall"\n'
        'type = "webhook"\n'
        f'url = "http://127.0.0.1:{free_port()}/hook"\n'
    )
    path = tmp_path / "monitor.toml"
    path.write_text(
        "[monitor]\n"
        "interval_seconds = 2\n"
        f'listen = "127.0.0.1:{port}"\n'
        f'state_dir = "{tmp_path}/state"\n'
        'log_format = "json"\n' + monitor + "[[clusters]]\n"
        f'name = "{CLUSTER}"\n'
        f'slurm_bin = "{slurm.bin_dir}"\n'
        f'munge_bin = "{slurm.bin_dir}"\n'
        "accounting = true\n"
        f"host_addresses = {{ {addresses} }}\n" + (ha or receiver)
    )
    return path


def test_rules_and_dashboard_on_a_real_prometheus(slurm, tmp_path):
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    problems: list[str] = []
    dashboard = json.loads(DASHBOARD.read_text())
    ha_row = ha_row_queries(dashboard)  # the next test's: empty without replicas
    queries = {k: v for k, v in dashboard_queries(dashboard).items() if k not in ha_row}
    port = free_port()
    config = write_config(tmp_path, slurm, port)
    with (
        running_daemon(config, port, log=tmp_path / "daemon.log") as daemon,
        # Not the job name of the README's example: the monitor-self rules must not depend
        # on it (SlurmMonitorAbsent would be pending below, in the healthy state).
        Prometheus([f"127.0.0.1:{port}"], rule_files=RULE_FILES, job="slurm") as prom,
    ):
        timings["daemon and prometheus started"] = time.monotonic() - t0
        _wait_healthy(prom, daemon)
        healthy_since = time.time()
        timings["healthy in prometheus"] = time.monotonic() - t0
        # enough history for rate() over $__rate_interval, and the rules evaluated on it
        time.sleep(12)

        healthy = evaluate(prom, queries, healthy_since, time.time())
        timings[f"{len(queries)} dashboard queries evaluated"] = time.monotonic() - t0
        exported = {name for name, _, _ in daemon.metrics()}
        problems += [
            f"the daemon exports no {name}: {why}"
            for name, why in FROM_THE_COMPOSITION_ROOT.items()
            if name not in exported
        ]
        problems += [f"{k}: does not evaluate: {e}" for k, e in sorted(healthy.errors.items())]
        problems += [
            f"{k}: no data in a healthy state: {substitute(queries[k])}"
            for k in sorted(healthy.empty - set(EMPTY_WHEN_HEALTHY))
        ]
        problems += [
            f"{k}: has data in a healthy state after all (update EMPTY_WHEN_HEALTHY)"
            for k in sorted(set(EMPTY_WHEN_HEALTHY) - healthy.empty - set(healthy.errors))
        ]
        problems += [
            f"healthy: alert {a['labels']['alertname']} is {a['state']}" for a in prom.alerts()
        ]

        failover_at = time.time()
        slurm.set_situation("primary-down")
        t_switch = time.monotonic()
        alert = prom.wait_until(
            lambda: _alert(prom, "SlurmctldFailover"),
            timeout=45,
            what="SlurmctldFailover pending or firing in /api/v1/alerts",
        )
        timings["SlurmctldFailover " + alert["state"]] = time.monotonic() - t_switch
        assert alert["labels"] == {
            "alertname": "SlurmctldFailover",
            "severity": "warning",
            "cluster": CLUSTER,
            "service": "slurmctld",
            "daemon": "slurmctld",
            "host": "ctl2",
            "role": "backup",
        }, alert
        assert alert["annotations"]["runbook_url"].endswith("#slurmctldfailover")
        others = sorted(
            a["labels"]["alertname"]
            for a in prom.alerts()
            if a["labels"]["alertname"] != "SlurmctldFailover"
        )
        assert "SlurmctldDown" not in others, others  # a failover is not an outage
        assert others == [], f"a failover raised more than SlurmctldFailover: {others}"

        # The ALERTS series is written at the same evaluation as /api/v1/alerts shows the
        # alert, possibly after the last step of a range query issued right now: poll.
        failover_only = {k: queries[k] for k in DATA_AFTER_FAILOVER}
        deadline = time.monotonic() + 15
        while True:
            after = evaluate(prom, failover_only, failover_at, time.time())
            if not (after.empty or after.errors) or time.monotonic() > deadline:
                break
            time.sleep(1)
        problems += [f"{k}: still no data after the failover" for k in sorted(after.empty)]
        problems += [f"{k}: {e}" for k, e in sorted(after.errors.items())]
    timings["stopped"] = time.monotonic() - t0
    print("replayed:", json.dumps(slurm.sources, indent=1))
    # The stand-ins replay one sdiag, so its counters never move and rates are 0/0.
    print("only NaN (0/0) when healthy:", sorted(healthy.nan_only))
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
    assert daemon.proc.returncode == 0, daemon.tail()  # contract: SIGTERM drains, exit 0
    assert not problems, "\n".join(problems)


def _wait_healthy(prom: Prometheus, daemon: DaemonProcess) -> None:
    def both_up() -> bool:
        series = prom.query(f'slurm_service_up{{cluster="{CLUSTER}"}} == 1')
        return len(series) == 2

    try:
        prom.wait_until(both_up, timeout=30, what="slurmctld and slurmdbd up in Prometheus")
    except PrometheusError as exc:
        raise AssertionError(f"{exc}\ntargets: {prom.targets()}\n{daemon.tail()}") from None


def _alert(prom: Prometheus, name: str) -> dict | None:
    return next((a for a in prom.alerts() if a["labels"]["alertname"] == name), None)


# --- the HA pair ----------------------------------------------------------------------------

HA_ROW = "HA pair (replicas)"
HA = """
[ha]
replica = "{replica}"
peers = ["http://127.0.0.1:{peer_port}"]
alertmanagers = ["http://127.0.0.1:{am_port}"]
peer_user = "peer"
peer_password_file = "{password_file}"
"""
PEER_PASSWORD = "peer-s3cret"


def ha_row_queries(dashboard: dict) -> dict[str, str]:
    """The queries of the (collapsed) HA row's panels, by "title / refId"."""
    (row,) = [p for p in dashboard["panels"] if p["title"] == HA_ROW]
    assert row["collapsed"] and row["panels"], "the HA row holds its panels (collapsed)"
    return dashboard_queries({"panels": row["panels"], "annotations": {"list": []},
                              "templating": {"list": []}})  # fmt: skip


WITHHELD = "Down pages withheld / A"  # empty while the replicas agree


def test_the_ha_row_on_two_replicas(slurm, tmp_path):
    t0 = time.monotonic()
    queries = ha_row_queries(json.loads(DASHBOARD.read_text()))
    ports = {"a": free_port(), "b": free_port()}
    am_port = free_port()  # no Alertmanager: nothing pages here, the outbox just waits
    stand_ins = {"a": StandInSlurm(tmp_path / "slurm-a"), "b": slurm}
    stand_ins["a"].install()
    stand_ins["a"].set_situation("healthy")
    # Every endpoint behind basic auth, the peers' credentials from [ha] only: the pulls and
    # the views below work only if the daemon reads them there.
    hashed = bcrypt.hashpw(PEER_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  peer: '{hashed}'\n")
    password_file = tmp_path / "peer.pw"
    password_file.write_text(PEER_PASSWORD + "\n")
    password_file.chmod(0o600)
    configs = {}
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / name).mkdir()
        ha = HA.format(
            replica=name, peer_port=ports[other], am_port=am_port, password_file=password_file
        )
        configs[name] = write_config(
            tmp_path / name, stand_ins[name], ports[name], ha=ha,
            monitor=f'web_config_file = "{web}"\n',
        )  # fmt: skip
    targets = [{"targets": [f"127.0.0.1:{ports[n]}"], "labels": {"replica": n}} for n in ("a", "b")]
    auth = {"username": "peer", "password": PEER_PASSWORD}
    scrape = {
        "scrape_configs": [{"job_name": "slurm", "basic_auth": auth, "static_configs": targets}]
    }
    with (
        running_daemon(configs["b"], ports["b"], log=tmp_path / "b.log") as b,
        Prometheus([], rule_files=RULE_FILES, extra_config=scrape) as prom,
    ):
        _wait_ready(b)  # b's store exists: a's first pull (at its start) finds a ledger
        with running_daemon(configs["a"], ports["a"], log=tmp_path / "a.log") as a:
            _wait_ready(a)
            assert requests.get(a.url + "/ledger/export", timeout=5).status_code == 401
            prom.wait_until(
                lambda: len(prom.query(f'slurm_service_up{{cluster="{CLUSTER}"}} == 1')) == 4,
                timeout=30,
                what="both services up as seen by both replicas",
            )
            prom.wait_until(
                lambda: len(prom.query("cluster_service:slurm_service_up:min_replicas")) == 2,
                timeout=15,
                what="the HA recording rules evaluated",
            )
            since = time.time()
            prom.wait_until(  # with the [ha] credentials: b answers nobody else
                lambda: prom.query("slurm_sla_monitor_peer_pull_last_successful == 1"),
                timeout=20,
                what="a's successful pull of b's ledger, in Prometheus",
            )
            ha_data = evaluate(prom, queries, since, time.time())
            assert not ha_data.errors, ha_data.errors
            assert ha_data.empty == {WITHHELD}, {k: substitute(queries[k]) for k in ha_data.empty}
            assert _last(prom, queries["Replicas up / A"]) == {(): 2.0}
            assert set(_last(prom, queries["Replicas disagree / A"]).values()) == {0.0}
            assert {k[1] for k in _last(prom, queries["Replica scraped / A"])} == {"a", "b"}
            t_pair = time.monotonic() - t0

            # a is cut off from the controllers: it sees them down, b sees them up
            stand_ins["a"].set_situation("both-down")
            at_a = ("SlurmctldDown", CLUSTER, f"127.0.0.1:{ports['a']}", "a")
            withheld = prom.wait_until(
                lambda: (found := _last(prom, queries[WITHHELD])).get(at_a) and found,
                timeout=30,
                what="a's SlurmctldDown withheld, in Prometheus",
            )
            # (with it, the backup's SlurmctldBackupDown: b sees the backup up too)
            assert {k[0] for k in withheld} <= {"SlurmctldDown", "SlurmctldBackupDown"}, withheld
            assert {k[1:] for k in withheld} == {at_a[1:]}, withheld  # at a only
            split = {(CLUSTER, "slurmctld"): 1.0, (CLUSTER, "slurmdbd"): 0.0}
            prom.wait_until(  # the recording rules catch up within an evaluation or two
                lambda: _last(prom, queries["Replicas disagree / A"]) == split,
                timeout=15,
                what="the replicas disagreeing on slurmctld only",
            )
            names = {x["labels"]["alertname"] for x in prom.alerts()}
            assert "SlurmctldDown" not in names, names  # max across replicas: b sees it up
            t_cut = time.monotonic() - t0

        # a is gone (stopped): it stays listed, down, and the count drops to 1
        prom.wait_until(
            lambda: _last(prom, queries["Replicas up / A"]) == {(): 1.0},
            timeout=15,
            what="Replicas up 1 once a stopped",
        )
        scraped = _last(prom, queries["Replica scraped / A"])
        assert {k[1]: v for k, v in scraped.items()} == {"a": 0.0, "b": 1.0}, scraped
    stand_ins["a"].close()
    t_all = time.monotonic() - t0
    print(
        "timings (s):", {"pair": round(t_pair, 1), "cut": round(t_cut, 1), "all": round(t_all, 1)}
    )


def _wait_ready(daemon: DaemonProcess) -> None:
    def ready() -> bool:
        answer = requests.get(daemon.url + "/healthz", auth=("peer", PEER_PASSWORD), timeout=2)
        return answer.status_code == 200

    daemon.wait_until("/healthz 200", ready, timeout=30)


def _last(prom: Prometheus, expr: str) -> dict[tuple[str, ...], float]:
    """The instant value of ``expr`` now, by its label values (in label-name order)."""
    return {
        tuple(v for _, v in sorted(r["metric"].items())): float(r["value"][1])
        for r in prom.query(substitute(expr))
    }

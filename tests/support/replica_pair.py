"""An HA pair of monitors on the real lab (issue 17): replica ``a`` on host mon1 and ``b`` on
mon2 (tests/cluster/replica_hosts.py), each ``slurm-sla run`` in HA mode at the shipped
defaults but for a 2 s interval; a two-peer Alertmanager cluster (Debian's
prometheus-alertmanager) on the hub, where both replicas reach it and an isolated replica
still does; a recording webhook receiver in this process, reached from the hub through a
forwarded port. The Alertmanagers' config is `slurm-sla alertmanager-config`'s output for
the replicas' own config file.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.cluster.lab import Lab
from tests.cluster.layout import HOSTS
from tests.cluster.netns import netns_path
from tests.support.alertmanager_cluster import PEER_TIMEOUT_SECONDS
from tests.support.daemon import DaemonProcess
from tests.support.debian import ensure_packages
from tests.support.nsbridge import NetnsBridge
from tests.support.receiver import Recorder, wait_until

INTERVAL = 2.0  # the one [monitor] setting off its default: speed
JITTER = 1.0  # the shipped jitter_seconds
# The one [alerts] setting off its default, for the Alertmanagers' sake (the engine's own
# grouping is off in HA mode): at the default 5m the resolved notice would come minutes
# later; it stays well above the peers' dedup wait (see test_ha_alertmanager).
GROUP_INTERVAL_SECONDS = 10.0
LISTEN_PORT = 9817  # each replica in its own namespace: the default port for both
HOOK = "/hook"
REPLICAS = {"a": "mon1", "b": "mon2"}


def replica_config(lab: Lab, replica: str, state_dir: Path, peers: list[str],
                   alertmanagers: list[str], hook: str) -> str:
    return (
        "[monitor]\n"
        f"interval_seconds = {INTERVAL:g}\n"
        f'listen = "0.0.0.0:{LISTEN_PORT}"\n'
        f'state_dir = "{state_dir}"\n'
        'log_format = "json"\n'
        "[[clusters]]\n"
        'name = "lab"\n'
        f'slurm_conf = "{lab.slurm_conf}"\n'
        f'slurm_bin = "{lab.hub_bin_dir}"\n'
        f'munge_bin = "{lab.hub_bin_dir}"\n'
        "[alerts]\n"
        f"group_interval_seconds = {GROUP_INTERVAL_SECONDS:g}\n"
        "[ha]\n"
        f'replica = "{replica}"\n'
        f"peers = {json.dumps(peers)}\n"
        f"alertmanagers = {json.dumps(alertmanagers)}\n"
        "[[ha.receivers]]\n"
        'name = "oncall"\n'
        'type = "webhook"\n'
        f'url = "{hook}"\n'
    )  # fmt: skip


class Replica:
    def __init__(self, lab: Lab, name: str, host: str, root: Path) -> None:
        self.lab, self.name, self.host = lab, name, host
        self.config = root / f"{name}.toml"
        self.state_dir = root / name
        self.bridge = NetnsBridge(netns_path(host))
        self.port = self.bridge.into(LISTEN_PORT)
        self.daemon: DaemonProcess | None = None
        self._runs = 0

    def start(self) -> None:
        self._runs += 1
        log = self.config.with_name(f"{self.name}-{self._runs}.log")
        self.daemon = DaemonProcess(
            self.config, self.port, log=log,
            spawn=lambda argv, **kw: self.lab.spawn_on(self.host, argv, **kw),
        )  # fmt: skip

    @property
    def d(self) -> DaemonProcess:
        assert self.daemon is not None, f"replica {self.name} is not running"
        return self.daemon

    def sigkill(self) -> None:
        self.d.proc.kill()
        self.d.proc.wait(10)
        self.d.stop()
        self.daemon = None

    def sigterm(self) -> int:
        code = self.d.stop(30)
        self.daemon = None
        return code

    def sees(self, service: str, up: bool) -> bool:
        return self.d.value("slurm_service_up", service=service) == (1.0 if up else 0.0)

    def close(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
        self.bridge.close()


class Alertmanagers:
    """N peers on the hub, listening on every address there: the replicas reach them at
    the hub's bridge address, this process through forwarded ports."""

    def __init__(self, lab: Lab, bridge: NetnsBridge, config: Path, workdir: Path,
                 peers: int = 2) -> None:
        ensure_packages("prometheus-alertmanager", binary="prometheus-alertmanager")
        hub = HOSTS["hub"]
        ports = [(bridge.free_port(), bridge.free_port()) for _ in range(peers)]
        self.urls = [f"http://{hub}:{web}" for web, _ in ports]  # as the replicas see them
        self.local = [f"http://127.0.0.1:{bridge.into(web)}" for web, _ in ports]
        self.procs: list[subprocess.Popen] = []
        self.logs = [workdir / f"am{i}.log" for i in range(peers)]
        for i, (web, gossip) in enumerate(ports):
            others = [f"--cluster.peer={hub}:{g}" for j, (_, g) in enumerate(ports) if j != i]
            self.procs.append(lab.spawn_on("hub", [
                "prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={workdir / f'am{i}'}",
                f"--web.listen-address=0.0.0.0:{web}",
                f"--cluster.listen-address={hub}:{gossip}",
                f"--cluster.advertise-address={hub}:{gossip}",
                *others,
                "--cluster.gossip-interval=100ms",
                "--cluster.pushpull-interval=1s",
                f"--cluster.peer-timeout={PEER_TIMEOUT_SECONDS:g}s",
                "--cluster.settle-timeout=5s",
                "--log.level=warn",
            ], stdout=subprocess.DEVNULL, stderr=self.logs[i].open("ab")))  # fmt: skip

        def formed() -> bool:
            for proc, log in zip(self.procs, self.logs, strict=True):
                assert proc.poll() is None, log.read_text()
            with contextlib.suppress(requests.RequestException, ValueError):
                return all(
                    requests.get(f"{u}/-/ready", timeout=1).status_code == 200
                    and len(requests.get(f"{u}/api/v2/status", timeout=2).json()
                            .get("cluster", {}).get("peers") or []) == peers
                    for u in self.local
                )  # fmt: skip
            return False

        wait_until(formed, 30, "the Alertmanager cluster formed")

    def alerts(self) -> list[dict]:
        """The alerts the first peer holds (each replica posts to every peer)."""
        return requests.get(f"{self.local[0]}/api/v2/alerts", timeout=5).json()

    def close(self) -> None:
        # SIGKILL: a terminated peer leaves its gossip cluster politely, waiting up to 10 s
        # for a peer that is going away too; nothing of theirs outlives the test.
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait(10)


@dataclass(frozen=True)
class Post:
    """One webhook POST at the receiver: when, from which Alertmanager, which alerts."""

    received: float
    sender: str
    alerts: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]  # (name, status, labels)
    body: dict = field(compare=False, hash=False)


class ReplicaPair:
    def __init__(self, lab: Lab, root: Path) -> None:
        self.lab, self.root = lab, root
        hosts = lab.replica_hosts.ensure()
        self.hub = NetnsBridge(netns_path("hub"))
        self.receiver = Recorder()
        hook = f"http://127.0.0.1:{self.hub.out_of(self.receiver.port)}{HOOK}"
        am_yml = root / "alertmanager.yml"
        self.replicas = {n: Replica(lab, n, h, root) for n, h in REPLICAS.items()}
        peer_url = {n: f"http://{hosts[h]}:{LISTEN_PORT}" for n, h in REPLICAS.items()}
        # The Alertmanagers' config comes from the replicas' own file (the receivers do not
        # depend on the Alertmanagers' URLs, which are only known once they listen).
        self._write(peer_url, ["http://placeholder:9093"], hook)
        am_yml.write_text(self._am_config(self.replicas["a"].config))
        self.am = Alertmanagers(lab, self.hub, am_yml, root)
        self._write(peer_url, self.am.urls, hook)
        for r in self.replicas.values():
            r.start()

    def _write(self, peer_url: dict[str, str], ams: list[str], hook: str) -> None:
        for n, r in self.replicas.items():
            peers = [u for m, u in peer_url.items() if m != n]
            r.config.write_text(replica_config(self.lab, n, r.state_dir, peers, ams, hook))

    @staticmethod
    def _am_config(config: Path) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "monitor", "alertmanager-config", "--config", str(config)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout

    def __getitem__(self, name: str) -> Replica:
        return self.replicas[name]

    # -- waiting -------------------------------------------------------------------------
    def wait_seen(self, name: str, service: str, up: bool, timeout: float = 60) -> float:
        r = self[name]
        return r.d.wait_until(f"replica {name} sees {service} {'up' if up else 'down'}",
                              lambda: r.sees(service, up), timeout)  # fmt: skip

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        self[name].d.wait_ready(timeout)
        for service in ("slurmctld", "slurmdbd"):
            self.wait_seen(name, service, True, timeout)

    def rounds(self, name: str) -> float:
        return self[name].d.value("slurm_sla_monitor_probe_rounds_total", cluster="lab",
                                  service="slurmctld") or 0.0  # fmt: skip

    def wait_rounds(self, name: str, n: int, timeout: float = 30) -> None:
        """Until replica ``name`` has ended ``n`` more slurmctld rounds: its ledger then
        covers (heartbeats) up to now."""
        start = self.rounds(name)
        self[name].d.wait_until(f"{n} more rounds of replica {name}",
                                lambda: self.rounds(name) >= start + n, timeout)  # fmt: skip

    # -- what the receiver saw -----------------------------------------------------------
    def posts(self) -> list[Post]:
        out = []
        for request in self.receiver.on(HOOK):
            body = json.loads(request["body"])
            alerts = tuple(
                (a["labels"]["alertname"], a["status"], tuple(sorted(a["labels"].items())))
                for a in body["alerts"]
            )
            out.append(Post(request["received"], body.get("externalURL", ""), alerts, body))
        return out

    def notices(self, alertname: str, since: float = 0.0) -> tuple[list[Post], list[Post]]:
        """(firing, resolved) notices of ``alertname`` received since ``since``. A notice is
        a post where the alert changed status at the receiver, or a post that repeats an
        earlier one whole (the second Alertmanager sending what the first did: a duplicate
        page). A group's post that only lists the alert again beside another alert's
        change is not a notice of it."""
        firing: list[Post] = []
        resolved: list[Post] = []
        last: dict[tuple, str] = {}
        seen: set[tuple] = set()
        for p in self.posts():
            duplicate = p.alerts in seen
            seen.add(p.alerts)
            for name, status, labels in p.alerts:
                changed = last.get(labels) != status
                last[labels] = status
                if name != alertname or p.received < since or not (changed or duplicate):
                    continue
                (firing if status == "firing" else resolved).append(p)
        return firing, resolved

    def firing_now(self) -> set[str]:
        last: dict[tuple, tuple[str, str]] = {}
        for p in self.posts():
            for name, status, labels in p.alerts:
                last[labels] = (name, status)
        return {name for name, status in last.values() if status == "firing"}

    def wait_notice(self, alertname: str, status: str, since: float, timeout: float) -> float:
        t0 = time.monotonic()
        index = 0 if status == "firing" else 1
        wait_until(lambda: self.notices(alertname, since)[index], timeout,
                   f"a {status} {alertname} notice at the receiver")  # fmt: skip
        return time.monotonic() - t0

    def stays_single(self, alertname: str, since: float, seconds: float) -> None:
        """Fails at the first second notice of ``alertname`` within ``seconds``: a second
        Alertmanager sends, if at all, within its position's wait after the first."""
        end = time.monotonic() + seconds
        while True:
            firing, resolved = self.notices(alertname, since)
            assert len(firing) <= 1 and len(resolved) <= 1, self.timeline()
            if time.monotonic() >= end:
                return
            time.sleep(0.05)

    def timeline(self) -> list[tuple[float, str, list[tuple[str, str]]]]:
        return [(round(p.received, 2), p.sender, [(n, s) for n, s, _ in p.alerts])
                for p in self.posts()]  # fmt: skip

    # -- the merged report ----------------------------------------------------------------
    def report(self) -> dict:
        """`slurm-sla report --ledger a=DIR --ledger b=DIR` for this month, as JSON."""
        args = []
        for n, r in self.replicas.items():
            args += ["--ledger", f"{n}={r.state_dir}"]
        out = subprocess.run(
            [sys.executable, "-m", "monitor", "report", "--config", str(self["a"].config),
             "--month", "current", "--format", "json", *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def close(self) -> None:
        # SIGTERM to every replica first, then wait: they drain side by side.
        for r in self.replicas.values():
            if r.daemon is not None and r.daemon.proc.poll() is None:
                r.daemon.signal(signal.SIGTERM)
        for r in self.replicas.values():
            r.close()
        self.am.close()
        self.receiver.close()
        self.hub.close()
        self.lab.replica_hosts.remove()  # the lab as the other tests know it


# A second Alertmanager's duplicate comes within its position's wait after the first.
DEDUP_WINDOW = 2 * PEER_TIMEOUT_SECONDS + 1.0

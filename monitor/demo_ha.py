"""``slurm-sla demo --ha``: the demo's story told to an HA pair of monitors.

What runs, all on loopback and all stopped however the demo ends (the end of the story,
Ctrl-C, SIGTERM):

- two replicas, ``a`` and ``b``: real ``slurm-sla run`` daemons, each with its own state
  directory and ``[ha]`` section, each watching the simulated cluster from its own
  "host" (its own stand-in client commands, so munge can break on one host only);
- an Alertmanager pair: Debian's ``prometheus-alertmanager`` twice, gossiping, on the
  configuration ``slurm-sla alertmanager-config`` makes of the replicas' config, with
  gossip timings shortened to the demo's compressed time (:data:`GOSSIP_FLAGS`);
- a recording webhook receiver behind the pair (:mod:`monitor.demo_pager`).

The story (:mod:`monitor.demo_ha_story`) kills replica ``a`` with SIGKILL in the middle of
the controllers' outage and starts it again after; at the end the replicas' ledgers are
merged into the month's report, and the last line of output is the JSON of
:class:`~monitor.demo_ha_story.Outcome`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from monitor.alerting.settings import GROUP_LABELS
from monitor.demo import DEFAULT_REPORTS, DemoTarget, _scratch_dir, _terminate_as_interrupt
from monitor.demo_ampair import (
    AM_BINARY,
    AM_MISSING,
    GOSSIP_FLAGS,
    PEER_TIMEOUT_SECONDS,
    start_pair,
)
from monitor.demo_ha_story import (
    BLIND_SITUATION,
    HA_SCRIPT,
    REPLICAS,
    HaStep,
    Outcome,
    expected_pages,
    maintenance_window,
    situation_for,
    step_lengths,
    tally,
    unknown_seconds,
)
from monitor.demo_pager import RecordingPager
from monitor.demo_watch import (
    free_port,
    get,
    observes,
    sees_down,
    sleep_until,
    tail,
    wait_for,
    waited,
)
from monitor.errors import MonitorError, UsageError
from monitor.runner import Child, start_child

if TYPE_CHECKING:
    from monitor.config import Config

PROBE_INTERVAL_SECONDS = 2.0
CLUSTER = "demo"
SERVICES = ("slurmctld", "slurmdbd")
# Each alert its own Alertmanager group, so a notice is one alert changing; the group
# interval (how soon a resolve is sent) stays several peer timeouts long: a resolve that
# lands while a later peer waits is paged twice (see monitor.alerting.amconfig).
GROUP_INTERVAL_SECONDS = 5.0
# A replica sends every alert uninhibited and the Alertmanager inhibits: an alert and the
# one that mutes it (SlurmctldBackupDown and SlurmctldDown) come in the same round but in
# separate posts, and with no group wait the first is sent before the second arrives.
GROUP_WAIT_SECONDS = 1.0
MIN_DURATION_SECONDS = 36.0  # the shortest step (8 %) still sees a few probe rounds
READY_SECONDS = 60.0  # a replica's start and first rounds, on a loaded machine


def run_ha_demo(
    duration: float,
    listen: str,
    out_dir: Path | None,
    make_target: Callable[[Path], DemoTarget],
    out: TextIO = sys.stdout,
) -> int:
    """The story against one ``make_target`` per replica host; 0 when the HA promise held
    (one page per incident, merged unknown under two probe intervals), 1 when not."""
    if shutil.which(AM_BINARY) is None:
        raise UsageError(AM_MISSING)
    out_dir = (out_dir or DEFAULT_REPORTS).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    with _terminate_as_interrupt(), _scratch_dir() as work, contextlib.ExitStack() as stack:
        demo = _HaDemo(duration, listen.rpartition(":")[0] or "127.0.0.1", work, out, stack)
        outcome = demo.run(make_target, out_dir)
    print(json.dumps(outcome.line()), file=out, flush=True)
    misses = outcome.misses(PROBE_INTERVAL_SECONDS)
    if misses:
        print(f"slurm-sla demo --ha: the HA promise missed: {'; '.join(misses)}", file=sys.stderr)
    return 1 if misses else 0


@dataclass
class _Replica:
    name: str
    config: Path
    url: str
    state_dir: Path
    log: Path
    child: Child | None = None


class _HaDemo:
    def __init__(
        self, duration: float, host: str, work: Path, out: TextIO, stack: contextlib.ExitStack
    ) -> None:
        self.duration = duration
        self.host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.work = work
        self.out = out
        self.stack = stack
        self.steps = list(HA_SCRIPT)

    def say(self, text: str) -> None:
        print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {text}", file=self.out, flush=True)

    def run(self, make_target: Callable[[Path], DemoTarget], out_dir: Path) -> Outcome:
        from monitor.alerting.amconfig import generate
        from monitor.config import load_config

        targets: dict[str, DemoTarget] = {}
        for name in REPLICAS:
            (self.work / name).mkdir()
            targets[name] = make_target(self.work / name)
            self.stack.callback(targets[name].close)
        tag = targets["a"].tag
        senders: dict[str, str] = {}
        pager = RecordingPager(self.out, senders).start()
        self.stack.callback(pager.stop)
        am_urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
        senders.update({u: f"am{i + 1}" for i, u in enumerate(am_urls)})
        planned_start = time.time() + 6  # the AMs and replicas start first (or later)
        window = maintenance_window(self.steps, self.duration)
        ports = {name: free_port(self.host) for name in REPLICAS}
        replicas = [
            self._write_replica(
                name, ports, targets[name], am_urls, pager.url, planned_start, window
            )
            for name in REPLICAS
        ]
        am_yml = self.work / "alertmanager.yml"
        am_yml.write_text(generate(load_config(replicas[0].config)))
        start_pair(am_yml, am_urls, self.work, self.stack, READY_SECONDS)
        for r in replicas:
            self._start(r)
        self._banner(tag, replicas, am_urls, out_dir)
        for r in replicas:
            self._wait_ready(r)
        sleep_until(time.monotonic() + planned_start - time.time())  # the window's clock
        lo, hi = self._tell(targets, replicas, pager, tag)
        self._wait_resolved(pager)
        for r in replicas:  # each drains and records its last heartbeat
            if r.child is not None:
                r.child.stop(30)
        pager.write(out_dir / "ha-receiver.jsonl")
        written, unknown = self._merged_report(replicas, out_dir, lo, hi)
        got = tally(pager.snapshot())
        print(
            f"\n{tag} finished: {got.pages} page(s) and {got.resolved} resolved notice(s) "
            f"through the Alertmanager pair ({got.duplicate_pages} duplicate).",
            file=self.out,
        )
        for path in written:
            print(f"  report: {path}", file=self.out)
        print(f"  receiver's record: {out_dir / 'ha-receiver.jsonl'}", file=self.out)
        return Outcome(len(expected_pages(self.steps)), got.pages, got.duplicate_pages, unknown)

    # --- the pieces ---------------------------------------------------------------------

    def _write_replica(
        self,
        name: str,
        ports: dict[str, int],
        target: DemoTarget,
        am_urls: list[str],
        hook: str,
        planned_start: float,
        window: tuple[float, float],
    ) -> _Replica:
        base = self.work / name
        port = ports[name]
        peers = [f"http://{self.host}:{p}" for n, p in ports.items() if n != name]
        r = _Replica(name, base / "config.toml", f"http://{self.host}:{port}", base / "state",
                     base / "replica.log")  # fmt: skip
        start, end = (
            dt.datetime.fromtimestamp(planned_start + w, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for w in window
        )
        r.config.write_text(
            replica_config(
                name, target.cluster_toml(), r.state_dir, f"{self.host}:{port}",
                peers, am_urls, hook, (start, end),
            )  # fmt: skip
        )
        return r

    def _start(self, r: _Replica) -> int:
        argv = [sys.executable, "-m", "monitor", "run", "--config", str(r.config)]
        r.child = start_child(argv, name=f"replica {r.name}", log=r.log)
        self.stack.callback(r.child.stop, 30)
        return r.child.pid

    def _wait_ready(self, r: _Replica) -> None:
        def ready() -> bool:
            if r.child is None or not r.child.running():
                raise MonitorError(f"replica {r.name} exited: {tail(r.log)}")
            return observes(get(f"{r.url}/metrics"), SERVICES)

        wait_for(ready, READY_SECONDS, f"replica {r.name}'s first rounds")

    def _banner(
        self, tag: str, replicas: list[_Replica], am_urls: list[str], out_dir: Path
    ) -> None:
        timings = ", ".join(
            f"{flag.removeprefix('cluster.')} {v} ({d})" for flag, v, d in GOSSIP_FLAGS
        )
        lines = [
            f"{tag}: slurm-sla demo --ha runs two real monitor replicas against a simulated "
            "Slurm HA cluster,",
            "  paging through a real Alertmanager pair (prometheus-alertmanager, config from "
            "slurm-sla alertmanager-config).",
            *(f"  replica {r.name}: {r.url}/metrics  state {r.state_dir}" for r in replicas),
            *(f"  am{i + 1}:       {u}" for i, u in enumerate(am_urls)),
            f"  gossip (demo timings, production defaults in brackets): {timings}",
            f"  group interval {GROUP_INTERVAL_SECONDS:g} s; probe interval "
            f"{PROBE_INTERVAL_SECONDS:g} s",
            f"  scratch:  {self.work} (removed on exit)",
            f"  reports:  {out_dir}",
            f"  duration: about {self.duration:.0f} s\n",
        ]
        print("\n".join(lines), file=self.out, flush=True)

    def _tell(
        self,
        targets: dict[str, DemoTarget],
        replicas: list[_Replica],
        pager: RecordingPager,
        tag: str,
    ) -> tuple[dt.datetime, dt.datetime]:
        """Run the steps; [start, end) of the story, wall clock (the ledgers' time)."""
        by_name = {r.name: r for r in replicas}
        story_start = dt.datetime.now(dt.UTC)
        for step, length in zip(self.steps, step_lengths(self.steps, self.duration), strict=True):
            t0 = time.monotonic()
            for name, target in targets.items():
                target.enter(situation_for(step, name))
            self.say(f"{tag} step: {step.situation}: {self._says(step, targets)}")
            if step.kill or step.restart:
                sleep_until(t0 + length / 2)
            if step.kill:
                self._kill(by_name[step.kill], step, t0 + length)
            if step.restart:
                pid = self._start(by_name[step.restart])
                self.say(f"replica {step.restart} started again (pid {pid})")
            sleep_until(t0 + length)
        for r in replicas:  # the story ends with both watching
            self._wait_ready(r)
        return story_start, dt.datetime.now(dt.UTC)

    @staticmethod
    def _says(step: HaStep, targets: dict[str, DemoTarget]) -> str:
        """A blind host's step in the target's words (through REST: a rejected token)."""
        own = getattr(targets.get(step.blind or ""), "says", {}).get(BLIND_SITUATION)
        if step.blind and own:
            return f"on replica {step.blind}'s host only: {own}; the other replica still sees"
        return step.says

    def _kill(self, r: _Replica, step: HaStep, deadline: float) -> None:
        """SIGKILL once the replica itself has decided the outage (or at the step's end)."""
        names = {p.alertname for p in step.pages}
        metrics = f"{r.url}/metrics"
        waited(lambda: sees_down(get(metrics), "slurmctld"), deadline - time.monotonic())
        if r.child is not None:
            r.child.kill()
            self.say(f"replica {r.name} SIGKILLed (pid {r.child.pid}) during {', '.join(names)}")

    def _wait_resolved(self, pager: RecordingPager) -> None:
        """Until every page has its resolved notice (the next group interval after the
        last recovery), then one peer timeout more: a second peer's copy of a notice, if
        the pair failed to deduplicate it, comes within that."""
        waited(lambda: not tally(pager.snapshot()).still_firing, 3 * GROUP_INTERVAL_SECONDS + 10)
        time.sleep(PEER_TIMEOUT_SECONDS + 0.5)  # absence takes time to show

    def _merged_report(
        self, replicas: list[_Replica], out_dir: Path, lo: dt.datetime, hi: dt.datetime
    ) -> tuple[list[Path], float]:
        """The month's merged report into ``out_dir``; the merged unknown seconds of the
        story, printed beside each replica's own (what the merge covered)."""
        from monitor.report.files import make_report, read_config, write_atomic
        from monitor.report.render import file_name, render

        config, digest = read_config(replicas[0].config)
        ledgers = [f"{r.name}={r.state_dir}" for r in replicas]
        for r, ledger in zip(replicas, ledgers, strict=True):
            alone = _story_unknown(config, [ledger], lo, hi)
            print(f"  replica {r.name} alone: {alone:.1f} s unknown in the story", file=self.out)
        merged = _story_unknown(config, ledgers, lo, hi)
        print(f"  merged ledgers a + b:  {merged:.1f} s unknown in the story", file=self.out)
        report = make_report(config, digest, "current", None, hi, ledgers=ledgers)
        written = []
        for fmt in ("md", "html"):
            path = out_dir / file_name(report, fmt)
            write_atomic(path, render(report, fmt))
            written.append(path)
        return written, merged


def _story_unknown(
    config: Config, ledgers: list[str], lo: dt.datetime, hi: dt.datetime
) -> float:
    """Unknown (blind or not running) seconds of the demo cluster's services over the
    story, in the ledgers merged (one ledger: that replica's own view)."""
    from monitor.ledger.replicas import MergedLedger
    from monitor.ledger.timebase import to_us
    from monitor.report.files import open_ledgers

    store = open_ledgers(config, ledgers)
    try:
        return sum(
            unknown_seconds(store.service_steps(CLUSTER, s, to_us(lo), to_us(hi)))
            for s in SERVICES
        )
    finally:
        if isinstance(store, MergedLedger):
            store.close()
        else:
            store.db.close()


def replica_config(
    name: str,
    cluster_toml: str,
    state_dir: Path,
    listen: str,
    peers: list[str],
    am_urls: list[str],
    hook: str,
    window: tuple[str, str],
) -> str:
    """One replica's config: the single demo's, with ``[ha]`` instead of a receiver."""
    labels = json.dumps(list(GROUP_LABELS))  # each alert its own group
    return f"""# slurm-sla demo --ha: replica {name}
[monitor]
interval_seconds = {PROBE_INTERVAL_SECONDS:g}
confirm_interval_seconds = 0.5
failure_threshold = 2
recovery_threshold = 2
jitter_seconds = 0
listen = "{listen}"
state_dir = "{state_dir}"
log_format = "json"

[[clusters]]
name = "{CLUSTER}"
{cluster_toml}
[[maintenance]]
start = {window[0]}
end = {window[1]}
clusters = ["{CLUSTER}"]
services = ["slurmdbd"]
reason = "demo: planned slurmdbd maintenance"

[alerts]
group_by = {labels}
group_wait_seconds = {GROUP_WAIT_SECONDS:g}
group_interval_seconds = {GROUP_INTERVAL_SECONDS:g}

[ha]
replica = "{name}"
peers = {json.dumps(peers)}
alertmanagers = {json.dumps(am_urls)}

[[ha.receivers]]
name = "demo-pager"
type = "webhook"
url = "{hook}"
"""

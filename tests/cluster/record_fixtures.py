"""Record real Slurm outputs (22.05, 24.11, 26.05) from the test cluster as parser fixtures.

    python -m tests.cluster.record_fixtures [--slurm 22.05|24.11|26.05] [--out tests/fixtures]
                                            [--only SITUATION ...]

Starts the lab, drives it through situations (a killed, frozen or unreachable primary, a
takeover, slurmdbd and MariaDB and munge down, ...) and in each runs every probe command
on the hub, concurrently as the monitor does, writing for each command
`<out>/<kind>/22.05-<situation>.txt` (stdout), `.stderr` and `.meta.json` (argv,
returncode, duration_seconds, situation, slurm_version, recorded_at). Failed commands are
recorded too: their failure is the fixture. Takes several minutes. Never edit the output
by hand; rerun this instead (then `python -m tests.regen_golden`).

From 24.11 on (releases run from a Debian root), every situation also records the --json
forms, as `<kind>/<series>-<situation>-json.json` (+ .stderr, .meta.json: the `-json` in
the name keeps each recording's meta file its own), and the HTTP answers of `/livez`,
`/readyz` and `/healthz` on each controller's slurmctld port, as
`http-readyz/<series>-<situation>.json` (26.05 serves them; 24.11 has no HTTP there, and
that is recorded too). The 22.05 `json-unsupported` situation is 22.05 only.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.probes import slurm_commands
from tests.cluster import layout, roots, status
from tests.cluster.lab import Lab

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COMMAND_TIMEOUT = 90.0

# What to record: every Slurm command a probe declares (monitor/probes), by fixture kind,
# and its --json form (23.02 and later; 22.05 rejects the option). A new probe command is
# recorded with no edit here.
PROBES: dict[str, list[str]] = {s.kind or s.name: list(s.argv) for s in slurm_commands()}
JSON_PROBES: dict[str, list[str]] = {
    s.kind or s.name: list(s.json_argv) for s in slurm_commands() if s.json_argv
}
SDIAG = {"sdiag": PROBES["sdiag"]}
DBD_QUEUE = re.compile(r"DBD Agent queue size: (\d+)")
EPOCH_DATA_SINCE = re.compile(r"^Data since .*\(0\)$", re.M)
BF_CYCLES = re.compile(r"Backfilling stats.*?Total cycles: (\d+)", re.S)


HTTP_PATHS = ("/livez", "/readyz", "/healthz")
HTTP_TIMEOUT = 3.0
# Run on the hub with the host's Python: GET each path on each controller at once; prints
# {"ctl1": {"/readyz": {"status", "body", "error", "seconds"}, ...}, ...}.
HTTP_CODE = """\
import http.client, json, sys, time
from concurrent.futures import ThreadPoolExecutor
hosts, paths = sys.argv[1].split(","), sys.argv[2].split(",")
port, timeout = int(sys.argv[3]), float(sys.argv[4])
def get(hp):
    host, path = hp
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        out = {"status": r.status, "body": body, "error": None}
    except Exception as e:
        out = {"status": None, "body": None, "error": f"{type(e).__name__}: {e}"}
    out["seconds"] = round(time.monotonic() - t0, 3)
    return hp, out
pairs = [(h, p) for h in hosts for p in paths]
with ThreadPoolExecutor(len(pairs)) as pool:
    done = dict(pool.map(get, pairs))
print(json.dumps({h: {p: done[(h, p)] for p in paths} for h in hosts}, indent=2))
"""


@dataclass(frozen=True)
class Recording:
    kind: str
    argv: list[str]
    stdout: str
    stderr: str
    returncode: int | None  # None: killed after COMMAND_TIMEOUT
    duration_seconds: float
    form: str = "txt"  # "json": stdout of a --json form


def run_probe(lab: Lab, kind: str, argv: list[str], form: str = "txt") -> Recording:
    t0 = time.monotonic()
    try:
        p = lab.run_client(argv, timeout=COMMAND_TIMEOUT)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = _text(e.stdout), _text(e.stderr), None
    return Recording(kind, argv, out, err, rc, round(time.monotonic() - t0, 3), form)


def http_argv() -> list[str]:
    return [
        sys.executable, "-I", "-c", HTTP_CODE, ",".join(layout.CONTROLLERS),
        ",".join(HTTP_PATHS), str(layout.SLURMCTLD_PORT), str(HTTP_TIMEOUT),
    ]  # fmt: skip


def run_http(lab: Lab) -> Recording:
    """/livez, /readyz, /healthz on each controller's slurmctld port, from the hub."""
    rec = run_probe(lab, HTTP_KIND, http_argv(), form="json")
    # The argv recorded is what it means, not the Python that did it.
    what = [f"GET http://{h}:{layout.SLURMCTLD_PORT}{p}" for h in layout.CONTROLLERS
            for p in HTTP_PATHS]  # fmt: skip
    return Recording(rec.kind, what, rec.stdout, rec.stderr, rec.returncode,
                     rec.duration_seconds, "http")  # fmt: skip


HTTP_KIND = "http-readyz"


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def capture(
    lab: Lab,
    probes: dict[str, list[str]],
    json_probes: dict[str, list[str]] | None = None,
    http: bool = False,
) -> list[Recording]:
    """Every probe at once, as the monitor runs them."""
    tasks: list[Callable[[], Recording]] = [
        (lambda k=k, a=a: run_probe(lab, k, a)) for k, a in probes.items()
    ]
    tasks += [
        (lambda k=k, a=a: run_probe(lab, k, a, "json")) for k, a in (json_probes or {}).items()
    ]
    if http:
        tasks.append(lambda: run_http(lab))
    with ThreadPoolExecutor(len(tasks)) as pool:
        return list(pool.map(lambda task: task(), tasks))


class Recorder:
    def __init__(self, lab: Lab, out: Path) -> None:
        self.lab = lab
        self.out = out
        self.written: list[Path] = []

    @property
    def version(self) -> str:
        return self.lab.slurm_version or "unknown"

    @property
    def newer(self) -> bool:
        """24.11 and later (run from a Debian root): --json forms and HTTP recorded too."""
        return status.newer(self.lab)

    def record(self, situation: str, probes: dict[str, list[str]] = PROBES) -> None:
        if not self.newer:
            self.write(situation, capture(self.lab, probes))
            return
        json_probes = {k: JSON_PROBES[k] for k in probes if k in JSON_PROBES}
        self.write(situation, capture(self.lab, probes, json_probes, http=True))

    def write(self, situation: str, recordings: list[Recording]) -> None:
        series = ".".join(self.version.split(".")[:2])
        recorded_at = datetime.now(UTC).isoformat(timespec="seconds")
        print(f"{situation}:")
        for rec in recordings:
            name, ext = f"{series}-{situation}", ".txt"
            if rec.form == "json":
                name, ext = f"{name}-json", ".json"
            elif rec.form == "http":
                ext = ".json"
            base = self.out / rec.kind / name
            base.parent.mkdir(parents=True, exist_ok=True)
            Path(f"{base}{ext}").write_text(rec.stdout)
            Path(f"{base}.stderr").write_text(rec.stderr)
            meta = {
                "argv": rec.argv,
                "returncode": rec.returncode,
                "duration_seconds": rec.duration_seconds,
                "situation": situation,
                "slurm_version": self.version,
                "recorded_at": recorded_at,
            }
            Path(f"{base}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")
            self.written.append(Path(f"{base}{ext}"))
            first_err = rec.stderr.strip().splitlines()[-1:] or [""]
            print(
                f"  {rec.kind + ('/' + rec.form if rec.form != 'txt' else ''):20} "
                f"rc={rec.returncode!s:4} {rec.duration_seconds:6.2f}s {first_err[0][:90]}"
            )


# --- situations ----------------------------------------------------------------------
# Each scenario starts from lab.heal() and records one or more situations.


def sdiag_until(lab: Lab, wanted: Callable[[str], bool], timeout: float) -> Recording | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec = run_probe(lab, "sdiag", PROBES["sdiag"])
        if rec.returncode == 0 and wanted(rec.stdout):
            return rec
        time.sleep(0.5)
    return None


def fresh_start(r: Recorder) -> None:
    """sdiag of a controller that has just started: no Mean cycle, no Cycles per minute."""
    r.lab.heal()
    r.lab.kill("ctl1")
    r.lab.restore("ctl1")
    r.lab.wait_serving("ctl1")
    r.record("fresh-start", SDIAG)


def healthy(r: Recorder) -> None:
    r.lab.heal()
    if not r.newer:
        r.record("json-unsupported", JSON_PROBES)
    # A minute of statistics, so that sdiag prints every line it can.
    rec = sdiag_until(r.lab, lambda out: "Cycles per minute" in out, timeout=120)
    if rec is None:
        print("  (sdiag never printed Cycles per minute)")
    r.record("healthy")


def primary_killed(r: Recorder) -> None:
    lab = r.lab
    lab.heal()
    lab.kill("ctl1")
    r.record("primary-killed-before-takeover")  # controller RPCs block until the takeover
    lab.wait_serving("ctl2")
    time.sleep(2)
    r.record("primary-killed-after-takeover")
    lab.restore("ctl1")
    lab.wait_serving("ctl1")
    time.sleep(1)
    r.record("after-failback")  # sacctmgr's ControlHost may still name the backup


def takeover_fresh(r: Recorder) -> None:
    """sdiag in the second after a takeover prints `Data since ... (0)`. Plain `sdiag`
    waits SlurmctldTimeout/2 between tries while the backup stands by and mostly misses
    that second, so poll through the single-controller config of ctl2, which fails at
    once until ctl2 is in control; what ctl2 prints does not depend on the client's
    config."""
    lab = r.lab
    for _attempt in range(3):
        lab.heal()
        lab.kill("ctl1")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            p = lab.run_client(PROBES["sdiag"], timeout=10, conf=lab.probe_conf("ctl2"))
            if p.returncode == 0:
                if EPOCH_DATA_SINCE.search(p.stdout):
                    rec = Recording(
                        "sdiag",
                        PROBES["sdiag"],
                        p.stdout,
                        p.stderr,
                        p.returncode,
                        round(time.monotonic() - t0, 3),
                    )
                    r.write("takeover-fresh", [rec])
                    return
                break
            time.sleep(0.05)
    print("takeover-fresh: never caught `Data since ... (0)`")


def backup_killed(r: Recorder) -> None:
    r.lab.heal()
    r.lab.kill("ctl2")
    r.record("backup-killed")


def both_killed(r: Recorder) -> None:
    r.lab.heal()
    r.lab.kill("ctl1")
    r.lab.kill("ctl2")
    r.record("both-killed")


def primary_unreachable(r: Recorder) -> None:
    r.lab.heal()
    r.lab.cut_link("ctl1")
    time.sleep(10)  # past SlurmctldTimeout: the backup still stands by (split brain)
    r.record("primary-unreachable")


def primary_frozen(r: Recorder) -> None:
    r.lab.heal()
    r.lab.freeze("ctl1")
    r.record("primary-frozen")


def dbd_primary_killed(r: Recorder) -> None:
    r.lab.heal()
    r.lab.kill("dbd1")
    r.lab.wait_dbd_serving("dbd2")
    r.record("dbd-primary-killed")


def both_dbd_killed(r: Recorder) -> None:
    lab = r.lab
    lab.heal()
    lab.kill("dbd1")
    lab.kill("dbd2")
    for _ in range(3):
        lab.run_client(["sbatch", "--wrap", "true"], timeout=30)
    rec = sdiag_until(lab, lambda out: int(DBD_QUEUE.search(out).group(1)) > 0, timeout=30)
    if rec is None:
        print("  (DBD Agent queue stayed at 0)")
    r.record("both-dbd-killed")


def mariadb_down(r: Recorder) -> None:
    r.lab.heal()
    r.lab.kill("db")
    r.record("mariadb-down")


def munge_down(r: Recorder) -> None:
    r.lab.heal()
    r.lab.kill("munge")  # socket removed, as systemd does: commands fail at once
    r.record("munge-down")


def scontrol_takeover(r: Recorder) -> None:
    r.lab.heal()
    r.lab.takeover()
    r.lab.wait_serving("ctl2")
    time.sleep(2)
    r.record("scontrol-takeover")  # the primary has exited


def backfill_and_reset(r: Recorder) -> None:
    lab = r.lab
    lab.heal()
    for _ in range(5):  # more than the two 1-CPU nodes take: backfill has work
        lab.run_client(["sbatch", "-t", "1", "--wrap", "sleep 3"], timeout=30)

    def ran(out: str) -> bool:
        m = BF_CYCLES.search(out)
        return bool(m and int(m.group(1)) >= 2 and "Jobs completed: 0\n" not in out)

    if sdiag_until(lab, ran, timeout=60) is None:
        print("  (no backfill cycle seen)")
    r.record("backfill", SDIAG)
    lab.run_client(["sdiag", "--reset"], timeout=30)
    r.record("after-reset", SDIAG)


def reconfigure(r: Recorder) -> None:
    """What the probes answer while `scontrol reconfigure` runs (from 24.05 slurmctld
    restarts itself for it; 26.05's /readyz is not 204 while reconfiguring)."""
    lab = r.lab
    lab.heal()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(lab.run_client, ["scontrol", "reconfigure"], timeout=60)
        time.sleep(0.2)  # the reconfigure request is in flight, not finished
        r.record("reconfigure")
        pending.result()
    # A re-exec'd slurmctld may be a new process: start from a fresh lab afterwards.
    if not lab.is_running("ctl1"):
        print("  (ctl1 is a new process after the reconfigure: the lab restarts)")
        lab.stop()


SCENARIOS: dict[str, Callable[[Recorder], None]] = {
    "fresh-start": fresh_start,
    "healthy": healthy,  # also json-unsupported
    "primary-killed": primary_killed,  # before/after takeover, after-failback
    "takeover-fresh": takeover_fresh,
    "backup-killed": backup_killed,
    "both-killed": both_killed,
    "primary-unreachable": primary_unreachable,
    "primary-frozen": primary_frozen,
    "dbd-primary-killed": dbd_primary_killed,
    "both-dbd-killed": both_dbd_killed,
    "mariadb-down": mariadb_down,
    "munge-down": munge_down,
    "scontrol-takeover": scontrol_takeover,
    "backfill": backfill_and_reset,  # also after-reset
    "reconfigure": reconfigure,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES, help="fixtures directory")
    parser.add_argument("--slurm", default=roots.DEFAULT_SLURM, choices=sorted(roots.RELEASES))
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(SCENARIOS),
        metavar="SCENARIO",
        help=f"only these scenarios: {', '.join(SCENARIOS)}",
    )
    args = parser.parse_args(argv)
    lab = Lab(slurm=args.slurm)
    t0 = time.monotonic()
    recorder = Recorder(lab, args.out)
    try:
        print(f"lab healthy in {lab.start():.1f}s (Slurm {lab.slurm_version})")
        for name, scenario in SCENARIOS.items():
            if not args.only or name in args.only:
                scenario(recorder)
    finally:
        lab.stop()
    print(f"{len(recorder.written)} fixtures in {time.monotonic() - t0:.0f}s under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

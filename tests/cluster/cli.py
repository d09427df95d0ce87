"""The lab's command line: a real Slurm HA cluster that outlives the command that started it.

    python3 -m tests.cluster up [--slurm 22.05|24.11|26.05]   # returns when healthy
    python3 -m tests.cluster status                           # version, who serves
    python3 -m tests.cluster config > lab.toml                # a monitor config for it
    python3 -m tests.cluster exec CMD...                      # CMD on the client host hub
    python3 -m tests.cluster kill|restore|freeze|thaw DAEMON  # munge db dbd1 dbd2 ctl1 ctl2 c1 c2
    python3 -m tests.cluster cut|heal HOST                    # a host's link; `heal` alone: all
    python3 -m tests.cluster restd start|stop [0|1]           # slurmrestd on the hub (both)
    python3 -m tests.cluster token [USER] [--lifespan S]      # a JWT from scontrol token
    python3 -m tests.cluster config --rest > lab-rest.toml    # the same through slurmrestd
    python3 -m tests.cluster down                             # leaves nothing behind

`up` detaches the lab (lab.Lab.detach: a keeper process holds the lab lock, lab.json has
its processes); every later command re-attaches to it (Lab.attach). Exit status 0 on
success, 1 with one line on stderr otherwise; `exec` exits with CMD's status.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from tests.cluster import cleanup, layout, roots
from tests.cluster.lab import Lab


def config_text(lab: Lab) -> str:
    """A monitor config for the running lab, for a monitor run on the hub (`exec`):
    the release's own clients, short timeouts as the lab's cluster tests use."""
    state_dir = lab.root / "monitor-state"
    return (
        "# slurm-sla monitor config for the lab (python3 -m tests.cluster config)\n"
        f"# Slurm {lab.slurm_version}; run the monitor with: python3 -m tests.cluster exec ...\n"
        "[monitor]\n"
        f'state_dir = "{state_dir}"\n'
        'listen = "127.0.0.1:9817"\n'
        "command_timeout_seconds = 5\n"
        "slow_command_timeout_seconds = 20\n"
        "[[clusters]]\n"
        f'name = "{layout.CLUSTER_NAME}"\n'
        f'slurm_conf = "{lab.slurm_conf}"\n'
        f'slurm_bin = "{lab.hub_bin_dir}"\n'
        f'munge_bin = "{lab.hub_bin_dir}"\n'
    )


def _status(lab: Lab) -> dict[str, object]:
    return {
        "slurm": lab.slurm,
        "slurm_version": lab.slurm_version,
        "root": str(lab.root),
        "controllers": lab.controller_states(),
        "slurmdbd": lab.dbd_states(),
        "not running": [n for n in layout.DAEMONS if not lab.is_running(n)],
        "frozen": [n for n in layout.DAEMONS if lab.is_frozen(n)],
        "links cut": sorted(lab.cut_links),
    }


def cmd_up(args: argparse.Namespace) -> int:
    lab = Lab(slurm=args.slurm)
    try:
        seconds = lab.start()
    except BaseException:
        lab.stop()
        raise
    lab.detach()
    print(f"Slurm {lab.slurm_version} lab healthy in {seconds:.1f}s at {lab.root}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    try:
        lab = Lab.attach()
    except RuntimeError:
        lab = None
    if lab is not None:
        lab.stop()
    left = cleanup.leftovers()
    if any(left.values()):
        print(f"left behind: {json.dumps(left)}", file=sys.stderr)
        return 1
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    if not args.argv:
        raise SystemExit("exec: which command?")
    lab = Lab.attach()
    argv = list(args.argv)
    if "/" not in argv[0]:
        path = lab.hub_env()["PATH"]
        argv[0] = shutil.which(argv[0], path=path) or argv[0]
    # On the hub (no PID namespace: the command keeps this process's PID once exec'd).
    full = lab.host_argv("hub", argv)
    os.execvpe(full[0], full, lab.hub_env())
    return 127  # not reached


def rest_config_text(lab: Lab) -> str:
    """config_text's cluster through the lab's slurmrestd pair (started if not running),
    with a root token valid for a day written to <lab>/rest/root.jwt."""
    lab.restd.start_all()
    token = lab.restd.write_token(lab.root / "rest" / "root.jwt", "root", 86400)
    head = config_text(lab).split("[[clusters]]")[0]
    return (
        head + "[[clusters]]\n"
        f'name = "{layout.CLUSTER_NAME}"\n'
        f'slurm_conf = "{lab.slurm_conf}"\n'
        'backend = "rest"\n'
        f"urls = {json.dumps(list(lab.restd.urls))}\n"
        f'token_file = "{token}"\n'
        "readyz = true\n"
    )


def cmd_config(args: argparse.Namespace) -> int:
    lab = Lab.attach()
    sys.stdout.write(rest_config_text(lab) if args.rest else config_text(lab))
    return 0


def cmd_restd(args: argparse.Namespace) -> int:
    lab = Lab.attach()
    which = [args.index] if args.index is not None else [0, 1]
    for i in which:
        if args.action == "start":
            lab.restd.start(i)
            print(lab.restd.url(i))
        else:
            lab.restd.stop(i)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    print(Lab.attach().restd.token(args.user, args.lifespan))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    print(json.dumps(_status(Lab.attach()), indent=2))
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    lab = Lab.attach()
    getattr(lab, args.command)(args.name)
    return 0


def cmd_cut(args: argparse.Namespace) -> int:
    Lab.attach().cut_link(args.host)
    return 0


def cmd_heal(args: argparse.Namespace) -> int:
    lab = Lab.attach()
    t0 = time.monotonic()
    if args.host:
        lab.restore_link(args.host)
    else:
        lab.heal()
        print(f"healthy after {time.monotonic() - t0:.1f}s")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m tests.cluster", description=__doc__.split("\n\n")[0]
    )
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a healthy HA cluster and leave it running")
    up.add_argument("--slurm", default=roots.DEFAULT_SLURM, choices=sorted(roots.RELEASES))
    up.set_defaults(fn=cmd_up)
    sub.add_parser("down", help="stop the lab, leave nothing behind").set_defaults(fn=cmd_down)
    ex = sub.add_parser("exec", help="run a command on the lab's client host (hub)")
    ex.add_argument("argv", nargs=argparse.REMAINDER)
    ex.set_defaults(fn=cmd_exec)
    config = sub.add_parser("config", help="print a monitor config TOML")
    config.add_argument("--rest", action="store_true", help="through the lab's slurmrestd")
    config.set_defaults(fn=cmd_config)
    restd = sub.add_parser("restd", help="start or stop slurmrestd on the hub")
    restd.add_argument("action", choices=["start", "stop"])
    restd.add_argument("index", nargs="?", type=int, choices=[0, 1])
    restd.set_defaults(fn=cmd_restd)
    token = sub.add_parser("token", help="print a JWT (scontrol token) for slurmrestd")
    token.add_argument("user", nargs="?", default="root")
    token.add_argument("--lifespan", type=int, default=3600)
    token.set_defaults(fn=cmd_token)
    sub.add_parser("status", help="print what the lab observes").set_defaults(fn=cmd_status)
    for name in ("kill", "restore", "freeze", "thaw"):
        d = sub.add_parser(name, help=f"{name} a daemon")
        d.add_argument("name", choices=list(layout.DAEMONS))
        d.set_defaults(fn=cmd_daemon)
    cut = sub.add_parser("cut", help="cut a host's link to the bridge")
    cut.add_argument("host", choices=[h for h in layout.HOSTS if h != "hub"])
    cut.set_defaults(fn=cmd_cut)
    heal = sub.add_parser("heal", help="restore a host's link; without HOST undo everything")
    heal.add_argument("host", nargs="?", choices=[h for h in layout.HOSTS if h != "hub"])
    heal.set_defaults(fn=cmd_heal)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except (RuntimeError, TimeoutError, ValueError, KeyError) as e:
        print(f"{args.command}: {e}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"{args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``slurm-sla``: the command line. It picks exit codes; everything below it returns values.

Errors go to stderr as one readable line (a config with several problems gives one line per
problem), never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.alerting.amconfig import register as _register_alertmanager_config
from monitor.alerting.testalert import register as _register_test_alert
from monitor.boundedread import read_bytes, read_stream
from monitor.cli_args import COULD_NOT_RUN, ArgumentParser, add_config_argument
from monitor.config import Config, load_config
from monitor.errors import (
    ConfigError,
    ConfigUnreadable,
    MonitorError,
    ParseError,
    StoreError,
    UsageError,
)
from monitor.ledger.cli import register_maintenance as _register_maintenance
from monitor.ledger.pull_cli import register_ledger as _register_ledger
from monitor.parsers import KINDS, parser_for
from monitor.report.cli import register_report as _register_report
from monitor.slo_export import register_slo as _register_slo
from monitor.status.cli import register_status as _register_status

Handler = Callable[[argparse.Namespace], int]
# Makes a monitor.demo.DemoTarget in the demo's scratch directory (not imported: the demo
# module loads the simulator, and the CLI loads a command's modules when it runs).
DemoTargetMaker = Callable[[Path], Any]


def main(argv: Sequence[str] | None = None, *, demo_target: DemoTargetMaker | None = None) -> int:
    """Exit codes: each command's own (README), or :data:`COULD_NOT_RUN` (4) when it could
    not run at all: bad arguments, a configuration missing or invalid, an unusable state
    store, an OS failure such as a taken listen address.

    ``demo_target``: what ``demo`` runs its script against instead of the simulated cluster
    (the real test lab, given by a checkout's ``tests/support/real_demo.py``)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version: 0; a usage error: COULD_NOT_RUN
        return exc.code if isinstance(exc.code, int) else COULD_NOT_RUN
    args.demo_target = demo_target
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return COULD_NOT_RUN
    try:
        return handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return COULD_NOT_RUN
    except (StoreError, UsageError) as exc:
        print(f"slurm-sla: {exc}", file=sys.stderr)
        return COULD_NOT_RUN
    except MonitorError as exc:
        print(f"slurm-sla: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # stdout closed early (| head): not an error
        return 0
    except OSError as exc:  # e.g. the listen address is taken
        where = f" {exc.filename}" if exc.filename else ""
        print(f"slurm-sla:{where} {exc.strerror or exc}", file=sys.stderr)
        return COULD_NOT_RUN
    except KeyboardInterrupt:
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="slurm-sla",
        description="Health and SLA monitor for highly available Slurm clusters.",
    )
    parser.add_argument("--version", action="version", version=f"slurm-sla {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in _COMMANDS:
        register(sub)
    return parser


# --- check-config ------------------------------------------------------------------------


def _register_check_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-config",
        help="validate a configuration file",
        description="Validate FILE; print every error as FILE:LINE: key: "
        "message. Exit 0 valid, 1 invalid, 4 FILE cannot be read.",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(handler=_check_config)


def _check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigUnreadable:
        raise  # no verdict: could not run
    except ConfigError as exc:  # the verdict "invalid"
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    web_problems = _web_config_problems(config) + _peer_file_problems(config, args.file)
    web_problems += _rest_file_problems(config, args.file)
    if web_problems:  # the web config is part of the configuration: invalid alike
        for problem in web_problems:
            print(problem, file=sys.stderr)
        return 1
    clusters = f"{len(config.clusters)} cluster(s)"
    if config.monitor.shard is not None:
        shard = config.monitor.shard
        clusters = f"{len(config.clusters)} of {config.fleet_size} cluster(s) in shard {shard}"
    print(
        f"{args.file}: OK ({clusters}, "
        f"{len(config.receivers)} receiver(s), {len(config.maintenance)} maintenance "
        "window(s))"
    )
    return 0


def _peer_file_problems(config: Config, path: Path) -> list[str]:
    """[ha] credential files this user cannot read (check-config runs as the service's
    user in ExecStartPre) or every user can, as FILE:LINE like the config's own errors."""
    from monitor.config_lines import key_lines, line_of
    from monitor.config_schema import dotted
    from monitor.ha.peer_auth import file_problems

    found = file_problems(config.ha)
    if not found:
        return []
    lines = key_lines(read_bytes(path).decode("utf-8-sig"))
    return [f"{path}:{line_of(lines, key) or 0}: {dotted(key)}: {msg}" for key, msg in found]


def _rest_file_problems(config: Config, path: Path) -> list[str]:
    """The REST clusters' token and CA files this user cannot read, or every user can read
    (a token), as FILE:LINE like the config's own errors."""
    import tomllib

    from monitor.config_lines import key_lines, line_of
    from monitor.config_schema import dotted
    from monitor.rest.settings import file_problems

    rest = [c for c in config.clusters if c.rest is not None]
    found = [(c.name, key, msg) for c in rest for key, msg in file_problems(c.rest)]
    if not found:
        return []
    text = read_bytes(path).decode("utf-8-sig")
    # the file's own index of each cluster: with a shard, config.clusters is a subset
    tables = tomllib.loads(text).get("clusters", [])
    index = {t.get("name"): i for i, t in enumerate(tables) if isinstance(t, dict)}
    lines = key_lines(text)
    keys = [("clusters", index.get(name, 0), key) for name, key, _ in found]
    return [
        f"{path}:{line_of(lines, k) or 0}: {dotted(k)}: {msg}"
        for k, (_, _, msg) in zip(keys, found, strict=True)
    ]


def _web_config_problems(config: Config) -> list[str]:
    """The problems of the web config (TLS, basic auth) ``config`` names, as FILE:LINE."""
    from monitor.service import load_web

    try:
        load_web(config)
    except ConfigError as exc:
        return exc.problems
    return []


# --- parse -------------------------------------------------------------------------------


def _register_parse(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "parse",
        help="parse saved Slurm command output into JSON",
        description="Parse saved output of a Slurm command (text or --json "
        "form) and print the JSON document. Exit 0, 1 naming "
        "what could not be parsed, or 4 when FILE cannot be read.",
    )
    p.add_argument("kind", choices=KINDS, metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="the saved output (default: standard input)",
    )
    p.set_defaults(handler=_parse)


def _parse(args: argparse.Namespace) -> int:
    source = str(args.file) if args.file else "<stdin>"
    try:
        raw = read_bytes(args.file) if args.file else read_stream(sys.stdin.buffer)
    except OSError as exc:
        print(f"slurm-sla parse: {source}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return COULD_NOT_RUN
    text = raw.decode("utf-8", errors="replace")
    try:
        result = parser_for(args.kind)(text)
    except ParseError as exc:
        print(f"slurm-sla parse {args.kind}: {source}: {exc}", file=sys.stderr)
        return 1
    json.dump(result.to_dict(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
    return 0


# --- probe -------------------------------------------------------------------------------


def _register_probe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="probe every cluster once and print the verdict",
        description="One probe round of every configured cluster, without "
        "hysteresis. Exit 0 all up, 1 degraded (or redundancy "
        "lost), 2 a service down, 3 could not probe, 4 could not run "
        "(bad configuration).",
    )
    add_config_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--cluster", metavar="NAME", help="only this cluster")
    p.set_defaults(handler=_probe)


def _probe(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from monitor.logs import configure_logging
    from monitor.probe_output import exit_code, render_table
    from monitor.prober import observe_once
    from monitor.verdict import evaluate

    config: Config = load_config(args.config)
    clusters = [c for c in config.clusters if args.cluster in (None, c.name)]
    if not clusters:
        raise UsageError(f"no cluster named {args.cluster!r} in {args.config}")
    # Warnings (insecure_skip_verify) on stderr: stdout is the table or the JSON document.
    configure_logging(config.monitor.log_format, level=logging.WARNING)
    with ThreadPoolExecutor(max_workers=len(clusters)) as pool:
        rounds = list(pool.map(lambda c: observe_once(c, config.monitor), clusters))
    observations = [evaluate(r, config.thresholds) for r in rounds]
    if args.json:
        json.dump({"clusters": [o.to_dict() for o in observations]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(observations))
    return exit_code(observations)


# --- run ---------------------------------------------------------------------------------


def _register_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run the monitoring daemon in the foreground",
        description="Probe every cluster on schedule, serve /metrics, record "
        "the SLA ledger and send alerts. SIGTERM/SIGINT drain and "
        "exit 0; SIGHUP reloads the configuration.",
    )
    add_config_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from monitor.service import run_service

    return run_service(args.config)


# --- demo --------------------------------------------------------------------------------


def _register_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the real monitor against a simulated HA cluster",
        description="SIMULATION: runs the real daemon (temporary state "
        "directory, SQLite ledger, /metrics, alerts to a printing "
        "webhook receiver) against stand-in Slurm commands that "
        "replay output recorded from a real Slurm 22.05 HA "
        "cluster, through a compressed script of incidents; then "
        "writes the month's SLA report.",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=60,
        metavar="SECONDS",
        help="length of the scripted incidents (default 60)",
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:9817",
        metavar="HOST:PORT",
        help="where /metrics is served (default 127.0.0.1:9817; port 0: any)",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="where the reports are written (default: ./slurm-sla-demo-reports; the "
        "demo's temporary state is removed on exit)",
    )
    p.add_argument(
        "--backend",
        choices=("cli", "rest"),
        default="cli",
        help="cli: stand-in Slurm commands (default); rest: a simulated slurmrestd "
        "replaying JSON recorded from a real Slurm 26.05 cluster",
    )
    p.add_argument(
        "--real",
        action="store_true",
        help="run the same script against the real HA cluster of tests/cluster "
        "(a source checkout, Debian, root; daemons really killed)",
    )
    p.add_argument(
        "--ha",
        action="store_true",
        help="two monitor replicas paging through a real Alertmanager pair (Debian's "
        "prometheus-alertmanager), one SIGKILLed mid-outage; ends with the merged report "
        "and one JSON line (incidents, pages, duplicate_pages, merged_unknown_seconds)",
    )
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from monitor.demo import become_real_demo, run_demo

    if args.duration < 20:
        raise UsageError(
            "--duration must be at least 20 seconds (each step needs a few probe rounds)"
        )
    if args.real and args.backend != "cli":
        raise UsageError("--real runs the CLI backend (the lab has no slurmrestd in the demo)")
    if args.ha:
        return _demo_ha(args)
    if args.real and args.demo_target is None:
        become_real_demo(args.duration, args.listen, args.output)
    from monitor.report.files import write_reports

    def reports(config: Path, directory: Path) -> list[Path]:
        return write_reports(config, directory, month="current", formats=("md", "html"))

    from monitor.demo import BACKENDS

    target = args.demo_target or BACKENDS[args.backend]
    return run_demo(args.duration, args.listen, args.output, report=reports, target=target)


def _demo_ha(args: argparse.Namespace) -> int:
    from monitor.demo import BACKENDS
    from monitor.demo_ha import MIN_DURATION_SECONDS, run_ha_demo

    if args.real:
        raise UsageError("--ha runs against the simulated cluster; drop --real")
    if args.duration < MIN_DURATION_SECONDS:
        raise UsageError(
            f"--ha needs --duration of at least {MIN_DURATION_SECONDS:g} seconds (nine steps "
            "of a few probe rounds each)"
        )
    target = args.demo_target or BACKENDS[args.backend]
    return run_ha_demo(args.duration, args.listen, args.output, target)


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_check_config,
    _register_parse,
    _register_probe,
    _register_run,
    _register_demo,
    _register_test_alert,
    _register_alertmanager_config,
    _register_maintenance,
    _register_ledger,
    _register_report,
    _register_slo,
    _register_status,
]

"""``slurm-sla report``: the monthly SLA report, to standard output or a file, or every
configured format into the report directory (``--archive``, what the monthly timer runs).
Exit 0, or 1 with one readable line on stderr (bad month, unknown cluster, a month not
begun, no or unreadable store, PDF without WeasyPrint)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from monitor.cli_args import add_config_argument
from monitor.errors import MonitorError
from monitor.ledger.merge import RULES
from monitor.report.files import make_report, read_config, write_atomic, write_output
from monitor.report.render import FORMATS, file_name, render


def register_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="the monthly SLA report (md, html, json, csv, pdf)",
        description="The SLA report of a calendar month in [sla] timezone, from the ledger: "
        "per cluster and service the availability against the objective, downtime, "
        "maintenance, unknown time, the error budget, every incident, failover, maintenance "
        "window and the monitor's own blind or absent time. The same ledger and config give "
        "the same bytes. Exit 0, or 1 on bad input.",
    )
    add_config_argument(p)
    p.add_argument(
        "--month",
        metavar="YYYY-MM",
        help="the month (default: the last complete one; 'current' for the month so far, "
        "marked partial)",
    )
    p.add_argument(
        "--cluster", action="append", metavar="NAME", help="only this cluster (repeatable)"
    )
    p.add_argument("--format", choices=FORMATS, help="md (default), html, json, csv or pdf")
    p.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="write here (default: standard output); an existing directory gets "
        "slurm-sla-report-YYYY-MM.EXT; a regular file is replaced atomically, a symlink "
        "followed, a device or FIFO written through",
    )
    p.add_argument(
        "--archive",
        action="store_true",
        help="write every format of [report] formats into [report] directory/YYYY-MM/ and "
        "mail them when [report] mail_receiver is set (the monthly timer)",
    )
    p.add_argument("--no-mail", action="store_true", help="with --archive: do not mail")
    p.add_argument(
        "--ledger",
        action="append",
        metavar="[NAME=]PATH",
        help="HA: merge this replica's ledger (a state directory or a store file; "
        "repeatable); NAME defaults to the host of its latest run. Without: the state "
        "store, merged with the peers' ledgers pulled into state_dir/peers if any",
    )
    p.add_argument(
        "--disagreement",
        choices=RULES,
        help="where merged replicas observed different states, which counts (default: "
        "[ha] disagreement, else up)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.archive and (args.format or args.output):
        raise MonitorError(
            "--archive writes [report] formats into [report] directory: drop --format and --output"
        )
    if args.no_mail and not args.archive:
        raise MonitorError("--no-mail goes with --archive")
    config, digest = read_config(args.config)
    now = dt.datetime.now(dt.UTC)
    report = make_report(
        config, digest, args.month, args.cluster, now, ledgers=args.ledger,
        disagreement=args.disagreement,
    )  # fmt: skip
    if args.archive:
        return _archive(config, report, now, mail=not args.no_mail)
    fmt = args.format or "md"
    data = render(report, fmt)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    path = args.output
    if path.is_dir():
        path = path / file_name(report, fmt)
    write_output(path, data)
    return 0


def _archive(config, report, now: dt.datetime, *, mail: bool) -> int:
    settings = config.report
    base = settings.directory or config.monitor.state_dir / "reports"
    directory = base / report.label
    paths = []
    for fmt in settings.formats:
        path = directory / file_name(report, fmt)
        write_atomic(path, render(report, fmt))
        paths.append(path)
        print(f"wrote {path}")
    if mail and settings.mail_receiver and config.ha is not None:
        from monitor.ha.report_sender import should_mail

        decision = should_mail(config.ha, report.label)  # HA: one replica mails, not each
        print(decision.why)
        mail = decision.mail
    if mail and settings.mail_receiver:
        from monitor.report.mail import mail_report

        outcome = mail_report(config, report, paths, now)
        if not outcome.ok:
            raise MonitorError(
                f"report written, but mailing it through {settings.mail_receiver!r} failed: "
                f"{outcome.error}"
            )
        print(f"mailed through {settings.mail_receiver}")
        if config.ha is not None:
            _leave_mark(config.ha, report.label, now)
    return 0


def _leave_mark(ha, month: str, now: dt.datetime) -> None:
    """HA: tell the other replicas (through the Alertmanagers) that this month is mailed."""
    from monitor.ha.report_mark import leave_mark

    where = leave_mark(ha.alertmanagers, month, ha.replica, now)
    if where is None:  # mailed all the same: the mark only spares a second mail
        print(f"slurm-sla: no Alertmanager took the mark that {month} is mailed", file=sys.stderr)
    else:
        print(f"marked as mailed on {where}")

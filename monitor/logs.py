"""Logging setup: JSON lines under systemd (or whenever the stream is not a terminal),
readable key=value lines on a terminal. Events are fixed names with fields.

Everything goes through one stdlib handler with structlog's ``ProcessorFormatter``, so
what libraries log through ``logging`` (APScheduler's "maximum number of running
instances", asyncio, urllib3), Python warnings and uncaught exceptions in threads come out
in the same format as our own events, with ``event``, ``level`` and ``logger``; in JSON a
traceback is the ``exception`` field, never lines of its own.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import TextIO

import structlog
from structlog.typing import Processor

# Libraries log at INFO about every job run and connection: their warnings are enough.
_LIBRARY_LEVEL = logging.WARNING
_OURS = "slurm_sla_monitor"


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so that configuring again replaces it instead of adding a second one."""


def configure_logging(
    fmt: str = "auto", level: int = logging.INFO, stream: TextIO | None = None
) -> bool:
    """Route every log record to ``stream``; True when it is written as JSON lines."""
    stream = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        final += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:  # the console renderer prints tracebacks itself, readably
        final.append(structlog.dev.ConsoleRenderer(colors=False))
    handler = _Handler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(level, _LIBRARY_LEVEL))  # what libraries say
    logging.getLogger(_OURS).setLevel(level)  # what we say
    logging.captureWarnings(True)
    threading.excepthook = _log_thread_crash
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    return as_json


def _log_thread_crash(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    structlog.get_logger(_OURS).error(
        "thread.crashed",
        thread=args.thread.name if args.thread else None,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )

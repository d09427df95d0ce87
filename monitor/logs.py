"""structlog setup: JSON lines under systemd (or whenever stdout is not a terminal),
readable key=value lines on a terminal. Events are fixed names with fields."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure_logging(
    fmt: str = "auto", level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    stream = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )

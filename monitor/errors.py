"""Typed failures. They are carried in results; only the CLI and the daemon pick exit codes."""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every failure this package reports on purpose."""


class UsageError(MonitorError):
    """An argument names what the configuration does not have (``probe --cluster``,
    ``test-alert --receiver``): the command could not run, which is never a verdict."""


class ConfigError(MonitorError):
    """The configuration is invalid. ``problems`` holds every error found, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConfigUnreadable(ConfigError):
    """The configuration file could not be read at all (missing, a directory, no
    permission, not UTF-8): nothing was validated, so ``check-config`` has no verdict."""


class ParseError(MonitorError):
    """Command output could not be understood.

    ``line_no`` (1-based) and ``line`` name the offending input line when one is to blame.
    """

    def __init__(self, message: str, line_no: int | None = None, line: str | None = None):
        self.message = message
        self.line_no = line_no
        self.line = line
        where = ""
        if line_no is not None:
            shown = (line or "").strip()
            if len(shown) > 80:
                shown = shown[:77] + "..."
            where = f" (line {line_no}: {shown!r})"
        super().__init__(f"{message}{where}")


class StoreError(MonitorError):
    """The state store cannot be read or written."""


class DeliveryError(MonitorError):
    """A notification could not be delivered to a receiver."""

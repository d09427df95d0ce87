"""Why a probe gave no usable answer, why a daemon is not up, or why its state is unknown:
one enum from the command runner to the alert rules (the contract's list, plus the three
degraded causes ``slow``, ``overloaded`` and ``backlog``)."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    UNREACHABLE = "unreachable"
    STANDBY = "standby"
    TIMEOUT = "timeout"
    AUTH = "auth"
    MISSING_BINARY = "missing_binary"
    PARSE = "parse"
    DATABASE = "database"
    COMMAND_FAILED = "command_failed"
    PROCESS_GONE = "process_gone"
    SLOW = "slow"
    OVERLOADED = "overloaded"
    BACKLOG = "backlog"


# Reasons that mean "the monitor cannot see", never "the daemon is down".
BLIND_REASONS = frozenset(
    {Reason.AUTH, Reason.MISSING_BINARY, Reason.TIMEOUT, Reason.PARSE, Reason.COMMAND_FAILED}
)

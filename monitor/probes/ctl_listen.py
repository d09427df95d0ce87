"""Whether a slurmctld listens on each controller's SlurmctldPort (a TCP connect), for REST
clusters whose slurmrestd cannot say "no controller answered" apart from "Slurm refused the
token": 22.05's answers both with "slurmctld config is unable to load" alone.

Only a refusal says something: the host's kernel answered that nothing listens on the port.
A connect that succeeds proves nothing (a frozen slurmctld still accepts: the kernel does),
nor does a timeout (the host or the link is gone). The verdict decides what it means.

It runs only after a ping that got no answer at all (``Trigger.PING_UNANSWERED``): a bare
connect makes slurmctld log a failed RPC, so it must not knock at every round.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from enum import StrEnum

from monitor.probes.base import (
    Clock,
    ProbeResult,
    ProbeSpec,
    ProbeTarget,
    Trigger,
    address_of,
)
from monitor.reasons import Reason

# The kernel refuses at once; only a host or link that is gone makes a connect wait. Two
# such controllers must not cost two full command timeouts.
PER_CONTROLLER_SECONDS = 3.0


class Connect(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # nothing listens on the port: the only conclusive outcome
    TIMEOUT = "timeout"
    FAILED = "failed"  # no route, name not resolved, ...: says nothing about slurmctld


@dataclass(frozen=True)
class PortAnswer:
    hostname: str
    role: str
    outcome: Connect
    error: str = ""


@dataclass(frozen=True)
class ListenReport:
    answers: tuple[PortAnswer, ...]

    @property
    def nothing_listens(self) -> bool:
        """Every controller's host refused the connection: no slurmctld runs anywhere."""
        return bool(self.answers) and all(a.outcome is Connect.REFUSED for a in self.answers)


def probe_ctl_listen(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    started = clock()
    t0 = time.monotonic()
    if not target.ctl_endpoints:
        return ProbeResult(
            CTL_LISTEN.name, started, 0.0, None, Reason.COMMAND_FAILED, "controllers not known"
        )
    per = min(timeout, PER_CONTROLLER_SECONDS)
    answers = tuple(
        _connect(role, host, port, target, per) for role, host, port in target.ctl_endpoints
    )
    return ProbeResult(CTL_LISTEN.name, started, time.monotonic() - t0, ListenReport(answers))


def _connect(role: str, host: str, port: int, target: ProbeTarget, timeout: float) -> PortAnswer:
    address, port = address_of(target.cluster.host_addresses.get(host), host, port)
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return PortAnswer(host, role, Connect.ACCEPTED)
    except ConnectionRefusedError:
        return PortAnswer(host, role, Connect.REFUSED, "connection refused")
    except TimeoutError:
        return PortAnswer(host, role, Connect.TIMEOUT, "timeout")
    except OSError as exc:
        return PortAnswer(host, role, Connect.FAILED, exc.strerror or str(exc))


# Through slurmrestd only, where the monitor reaches the controllers (``readyz = true``),
# and only before 24.11: from 24.11 slurmrestd's ping lists every controller DOWN itself.
CTL_LISTEN = ProbeSpec(
    "ctl_listen", "slurmctld", probe_ctl_listen, trigger=Trigger.PING_UNANSWERED,
    until=(24, 11), backends=frozenset({"rest"}), reaches_hosts=True,
)  # fmt: skip

"""``GET /readyz`` on each controller's own port (Slurm 25.11+): the only surface in any
Slurm that says which controller is in control. It needs no munge and no client binaries.

Measured on 26.05: ``204`` from the controller in control, ``500`` from a standby, refused
when the daemon is dead, a timeout when it is frozen. Each answer is kept as it came; the
verdict decides what it means.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass

from monitor.probes.base import Clock, ProbeResult, ProbeSpec, ProbeTarget, address_of
from monitor.reasons import Reason

# A controller's HTTP answer is immediate when it can give one; a frozen one never answers.
# Do not let two frozen controllers cost two full command timeouts.
PER_CONTROLLER_SECONDS = 3.0


@dataclass(frozen=True)
class ReadyAnswer:
    hostname: str
    role: str
    status: int | None  # the HTTP status; None: no HTTP answer (see ``error``)
    error: str = ""  # "connection refused", "timeout", ...

    @property
    def in_control(self) -> bool:
        return self.status == 204


@dataclass(frozen=True)
class ReadyReport:
    answers: tuple[ReadyAnswer, ...]

    @property
    def answered(self) -> bool:
        """Some controller gave an HTTP answer (a firewall in the way gives none)."""
        return any(a.status is not None for a in self.answers)

    @property
    def in_control(self) -> tuple[ReadyAnswer, ...]:
        return tuple(a for a in self.answers if a.in_control)


def probe_readyz(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    started = clock()
    t0 = time.monotonic()
    if not target.ctl_endpoints:
        return ProbeResult(
            READYZ.name, started, 0.0, None, Reason.COMMAND_FAILED, "controllers not known yet"
        )
    per = min(timeout, PER_CONTROLLER_SECONDS)
    answers = tuple(
        _ask(role, host, port, target, per) for role, host, port in target.ctl_endpoints
    )
    return ProbeResult(READYZ.name, started, time.monotonic() - t0, ReadyReport(answers))


def _ask(role: str, host: str, port: int, target: ProbeTarget, timeout: float) -> ReadyAnswer:
    address, port = address_of(target.cluster.host_addresses.get(host), host, port)
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", READYZ.http_path, headers={"Connection": "close"})
        response = conn.getresponse()
        response.read(4096)  # Slurm's body is empty; never read an unbounded one
        return ReadyAnswer(host, role, response.status)
    except TimeoutError:
        return ReadyAnswer(host, role, None, "timeout")
    except (OSError, http.client.HTTPException) as exc:
        # 24.11 and older close the connection on an HTTP request: "no HTTP on this port".
        why = getattr(exc, "strerror", None) or type(exc).__name__
        return ReadyAnswer(host, role, None, why)
    finally:
        conn.close()


READYZ = ProbeSpec(
    "readyz",
    "slurmctld",
    probe_readyz,
    http_path="/readyz",
    since=(25, 11),
    backends=frozenset({"cli", "rest"}),
)

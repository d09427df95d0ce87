"""How ``slurm-sla probe`` shows observations to a person, and its exit code."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.observation import ClusterObservation, State

EXIT_UP, EXIT_DEGRADED, EXIT_DOWN, EXIT_BLIND = 0, 1, 2, 3


def exit_code(observations: Sequence[ClusterObservation]) -> int:
    """2 if any service is down; else 3 if any cluster could not be probed; else 1 if
    anything is degraded or has lost redundancy; else 0. A down service outranks blindness
    elsewhere, as CRITICAL outranks UNKNOWN in every monitoring convention."""
    services = [s for o in observations for s in o.services.values()]
    if any(s.state is State.DOWN for s in services):
        return EXIT_DOWN
    if any(o.blind for o in observations) or any(s.state is State.UNKNOWN for s in services):
        return EXIT_BLIND
    if any(s.state is State.DEGRADED or s.redundancy_ok is False for s in services):
        return EXIT_DEGRADED
    if any(d.state is State.DOWN for o in observations for d in o.daemons):
        return EXIT_DEGRADED
    return EXIT_UP


def render_table(observations: Sequence[ClusterObservation]) -> str:
    rows = [("CLUSTER", "DAEMON", "HOST", "ROLE", "STATE", "REASON", "LATENCY")]
    for o in observations:
        for d in o.daemons:
            latency = "" if d.latency_seconds is None else f"{d.latency_seconds * 1000:.0f} ms"
            rows.append(
                (
                    o.cluster,
                    d.daemon,
                    d.hostname,
                    d.role,
                    d.state.value,
                    d.reason.value if d.reason else "",
                    latency,
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.append("")
    for o in observations:
        for name, s in o.services.items():
            active = f", serving: {s.active.hostname} ({s.active.role})" if s.active else ""
            redundancy = {True: "ok", False: "LOST", None: "unverified"}[s.redundancy_ok]
            lines.append(
                f"{o.cluster} {name}: {s.state.value} [{s.condition.value}]"
                f"{active}, redundancy {redundancy}"
            )
        if o.blind:
            lines.append(
                f"{o.cluster}: the monitor is BLIND (it cannot see; nothing is "
                "reported down for that)"
            )
        for e in o.errors:
            lines.append(f"{o.cluster}: probe {e.probe} failed ({e.reason}): {e.message}")
    return "\n".join(lines) + "\n"

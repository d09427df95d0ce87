"""The causes the ledger records (the verdict's conditions, the ledger's own notes), in the
words a customer reads in a report."""

from __future__ import annotations

RESYNC_PREFIX = "ledger resync: "

CAUSES = {
    "no_controller": "both controllers down",
    "dbd_unreachable": "slurmdbd unreachable",
    "database_unreachable": "database unreachable",
    "split_brain_protection": "split-brain protection (backup standby)",
    "blind": "monitor blind",
    "monitor started": "monitor starting (state not yet confirmed)",
    "monitor not running": "monitor not running",
    "ok": "ok",
    "failover": "failover (a backup serves)",
    "failback": "failback (the primary serves again)",
    "not_configured": "not configured",
    "unreachable": "unreachable",
    "process_gone": "process gone",
    "slow": "slow to answer",
    "overloaded": "overloaded",
    "backlog": "slurmdbd agent queue backlog",
}


def readable(cause: str) -> str:
    """``no_controller`` -> ``both controllers down``; an unknown code keeps its words."""
    if cause.startswith(RESYNC_PREFIX):
        return readable(cause[len(RESYNC_PREFIX) :]) + " (recorded on resync)"
    if cause in CAUSES:
        return CAUSES[cause]
    return cause.replace("_", " ") or "unknown"

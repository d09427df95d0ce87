"""The alert-coverage matrix: for each fault of the real HA lab, the built-in alerts that
must reach a receiver as firing, the ones that may (they depend on history or on a race the
monitor cannot see), and, implicitly, that nothing else does. Each must resolve at the
receiver within two probe intervals plus ``confirm_interval_seconds`` of the recovery.

Derived from the rules (``monitor/alerting/rules.py``), the inhibitions
(``monitor/alerting/policy.py``) and what Slurm does (``SLURM-LAB.md``); the README's
"Alert coverage" table says the same in words. An inhibited alert never reaches a receiver,
so it is not listed (SlurmctldDown mutes the backup's SlurmctldBackupDown when both die).

The alerts of the monitor itself (Prometheus rules) are not here; SlurmSLABudgetBurn is a
"may" wherever a fault is downtime: whether it pages depends on the downtime already in the
burn windows (one outage of slurmctld longer than ~52 s pages at 14.4x over 1h on a fresh
store; a chaos run's outages add up).

    from tests.support.alert_matrix import Fault, expected
    want = expected(Fault.PRIMARY_SLURMDBD)
    assert want.fires <= seen_firing <= want.fires | want.may_fire
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """Lab faults, named by what breaks (``python3 -m tests.cluster kill|freeze|cut HOST``)."""

    PRIMARY_SLURMCTLD = "primary_slurmctld"  # kill ctl1
    BACKUP_SLURMCTLD = "backup_slurmctld"  # kill ctl2
    BOTH_SLURMCTLD = "both_slurmctld"  # kill ctl1 and ctl2 at once
    PRIMARY_SLURMDBD = "primary_slurmdbd"  # kill dbd1
    BACKUP_SLURMDBD = "backup_slurmdbd"  # kill dbd2
    BOTH_SLURMDBD = "both_slurmdbd"  # kill dbd1 and dbd2 at once
    MARIADB = "mariadb"  # kill db
    MUNGE_ON_MONITOR_HOST = "munge_on_monitor_host"  # munge broken where the monitor runs
    FROZEN_PRIMARY = "frozen_primary"  # freeze ctl1 (SIGSTOP)
    PRIMARY_LINK_CUT = "primary_link_cut"  # cut ctl1 from the bridge


@dataclass(frozen=True)
class Expectation:
    fires: frozenset[str]  # must reach the receiver as firing
    may_fire: frozenset[str]  # allowed, not required
    why: str


BURN = "SlurmSLABudgetBurn"
_NONE: frozenset[str] = frozenset()


def _e(fires: set[str], why: str, may: set[str] | None = None) -> Expectation:
    return Expectation(frozenset(fires), frozenset(may or ()), why)


# Slurm 22.05 (the lab's default), the monitor in the hub namespace (it runs no daemon).
MATRIX: Mapping[Fault, Expectation] = {
    Fault.PRIMARY_SLURMCTLD: _e(
        {"SlurmctldFailover"},
        "the backup answers ping at once and takes control 7-9 s later; the takeover's "
        "brief all-DOWN pings are inside takeover_grace_seconds, so never SlurmctldDown",
    ),
    Fault.BACKUP_SLURMCTLD: _e(
        {"SlurmctldBackupDown"},
        "the primary keeps serving; the backup does not answer ping",
    ),
    Fault.BOTH_SLURMCTLD: _e(
        {"SlurmctldDown"},
        "no controller answers; the backup's SlurmctldBackupDown is inhibited. Two kills "
        "are two instants: a round between them sees a failover, the takeover grace then "
        "holds the verdict, and the backup's own death may be confirmed (and paged as a "
        "warning) a round before the outage is",
        {BURN, "SlurmctldFailover", "SlurmctldBackupDown"},
    ),
    Fault.PRIMARY_SLURMDBD: _e(
        {"SlurmdbdFailover"},
        "the backup slurmdbd takes over in under a second (sacctmgr keeps answering); it "
        "listens, the primary does not",
    ),
    Fault.BACKUP_SLURMDBD: _e(
        set(),
        "a standby slurmdbd does not listen and sacctmgr ping lists it only when the primary "
        "does not answer: its death is invisible, unless the monitor runs on its host "
        "(local_daemons = ['slurmdbd']; see expected())",
    ),
    Fault.BOTH_SLURMDBD: _e(
        {"SlurmdbdDown"},
        "sacctmgr gets Connection refused; SlurmdbdBackupDown is inhibited. The backup "
        "takes over in under a second, so a round between the two kills sees it serve "
        "(a failover) or sees it gone a round before sacctmgr fails: both may page first",
        {BURN, "SlurmdbdFailover", "SlurmdbdBackupDown"},
    ),
    Fault.MARIADB: _e(
        {"SlurmdbdDown"},
        "sacctmgr says 'Unable to connect to database' (condition database_unreachable); "
        "the primary slurmdbd still listens, so no failover",
        {BURN},
    ),
    Fault.MUNGE_ON_MONITOR_HOST: _e(
        {"SlurmMonitorBlind"},
        "every command fails to authenticate: blind (one alert per service), never a daemon "
        "down; what it cannot see is held, neither resolved nor re-fired",
    ),
    Fault.FROZEN_PRIMARY: _e(
        {"SlurmctldFailover"},
        "ping waits MessageTimeout (10 s) for the frozen primary and says DOWN, the backup "
        "answers and takes over after SlurmctldTimeout; the ping's slow timeout "
        "(slow_command_timeout_seconds) must exceed MessageTimeout, or the monitor is blind",
    ),
    Fault.PRIMARY_LINK_CUT: _e(
        {"SlurmctldDown"},
        "the primary runs on, unreachable, and keeps writing its heartbeat to the shared "
        "StateSaveLocation, so the backup never takes over (split-brain protection, every "
        "release): it answers ping, and RPCs with 'standby mode' after ~12 s of retries. "
        "No controller serves: an outage, dated from the RPC the backup refused. Until "
        "that answer, rounds read the RPCs' last one (from the primary, before the cut) "
        "and may confirm a failover first",
        {"SlurmctldFailover", BURN},
    ),
}

# Slurm 24.11 and 26.05: a failback (the primary started while the backup serves) usually
# leaves both controllers unresponsive for ~28 s: a real outage after the fault, paged. A
# thawed primary may do the same, or resume control at once while the backup restarts
# (both seen on the real clusters: RPCs answered from the thaw on): SlurmctldDown may fire
# then, or not.
_FAILBACK_OUTAGE = (Fault.PRIMARY_SLURMCTLD,)
_MAYBE_FAILBACK_OUTAGE = (Fault.FROZEN_PRIMARY,)


# Slurm 22.05: a backup that served and hands control back is now and then left silent
# ("REQUEST_CONTROL reply but backup not completely done relinquishing control"); the lab's
# heal restarts it (tests/cluster/status.py fail_back), and the monitor rightly pages that
# backup down meanwhile.
_HANDBACK = (Fault.PRIMARY_SLURMCTLD, Fault.FROZEN_PRIMARY)


def expected(
    fault: Fault,
    *,
    slurm: str = "22.05",
    monitor_on_backup_dbd_host: bool = False,
    recovery: bool = False,
) -> Expectation:
    """The matrix entry for ``fault`` on Slurm ``slurm``, with the monitor in the hub
    namespace, or on the backup slurmdbd's host with ``local_daemons = ["slurmdbd"]``;
    ``recovery``: over the whole incident, the lab's recovery included."""
    e = MATRIX[fault]
    if recovery and slurm == "22.05" and fault in _HANDBACK:
        e = Expectation(
            e.fires,
            e.may_fire | {"SlurmctldBackupDown"},
            e.why + "; a 22.05 backup left silent by the handback is restarted by the lab",
        )
    if fault is Fault.BACKUP_SLURMDBD and monitor_on_backup_dbd_host:
        return _e(
            {"SlurmdbdBackupDown"},
            "the local process check sees the backup's process gone (down at once)",
        )
    if fault in _FAILBACK_OUTAGE and slurm != "22.05":
        # Mostly: a CI run on 26.05 also saw a clean failback, both answering throughout.
        return Expectation(
            e.fires,
            e.may_fire | {"SlurmctldDown", "SlurmctldBackupDown", BURN},  # backup restarts
            e.why + "; the failback is usually a ~28 s outage on Slurm 24.11+ (SlurmctldDown)",
        )
    if fault in _MAYBE_FAILBACK_OUTAGE and slurm != "22.05":
        # ... or the thawed primary resumes and the backup restarts (down ~30 s meanwhile)
        return Expectation(
            e.fires,
            e.may_fire | {"SlurmctldDown", "SlurmctldBackupDown", BURN},
            e.why + "; on Slurm 24.11+ the thaw may be a ~29 s outage (SlurmctldDown)",
        )
    return e

"""Several replicas' ledgers read as one (HA: one SLA truth from two monitors).

:class:`MergedLedger` answers what the report and ``query.service_period`` ask a
:class:`LedgerStore` (first heartbeat, high water, service steps, events, windows), from
every replica's store: the service states through ``merge.merge_steps``; maintenance
windows and events as the union, each once. Replicas are ordered by name, so the result
does not depend on which replica's files are given first.

A replica's ledger is its own state store, or a peer's records pulled into
``state_dir/peers/NAME.sqlite3`` (``ledger.exchange``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from monitor.errors import MonitorError
from monitor.ledger.maintenance import StoredWindow
from monitor.ledger.merge import DEFAULT_RULE, Disagreement, merge_steps
from monitor.ledger.sla import Steps
from monitor.ledger.store import LedgerStore, StoredEvent
from monitor.ledger.timebase import MINUTE_US

PEERS_DIR = "peers"
PEER_SUFFIX = ".sqlite3"
# Two replicas record the same failover a probe round or two apart: one event, the first.
SAME_EVENT_US = 10 * MINUTE_US


@dataclass(frozen=True)
class Replica:
    name: str
    store: LedgerStore


def replica_name(store: LedgerStore, fallback: str) -> str:
    """A ledger's own name for itself: the host of its latest run (the replica's host)."""
    rows = store.db.query("SELECT host FROM ledger_runs ORDER BY id DESC LIMIT 1")
    return rows[0][0] if rows and rows[0][0] else fallback


class MergedLedger:
    def __init__(self, replicas: Sequence[Replica], rule: str = DEFAULT_RULE) -> None:
        names = [r.name for r in replicas]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise MonitorError(f"two ledgers name themselves {dup[0]!r}: give each as NAME=PATH")
        if not replicas:
            raise MonitorError("no ledger to merge")
        self.replicas = tuple(sorted(replicas, key=lambda r: r.name))
        self.rule = rule

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.replicas)

    def close(self) -> None:
        for r in self.replicas:
            r.store.db.close()

    def first_heartbeat(self, cluster: str) -> int | None:
        found = [r.store.first_heartbeat(cluster) for r in self.replicas]
        return min((f for f in found if f is not None), default=None)

    def high_water(self, cluster: str) -> int | None:
        found = [r.store.high_water(cluster) for r in self.replicas]
        return max((f for f in found if f is not None), default=None)

    def service_steps(self, cluster: str, service: str, lo: int, hi: int) -> Steps:
        return self._merge(cluster, service, lo, hi).steps

    def disagreements(
        self, cluster: str, service: str, lo: int, hi: int
    ) -> tuple[Disagreement, ...]:
        return self._merge(cluster, service, lo, hi).disagreements

    def _merge(self, cluster: str, service: str, lo: int, hi: int):
        return merge_steps(
            {r.name: r.store.service_steps(cluster, service, lo, hi) for r in self.replicas},
            self.rule,
        )

    def events(
        self, cluster: str, lo: int, hi: int, kinds: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        """Every replica's events, one per change: the same change recorded by two replicas
        within ``SAME_EVENT_US`` is kept once, at the earlier instant."""
        every = sorted(
            (e for r in self.replicas for e in r.store.events(cluster, lo, hi, kinds)),
            key=_event_order,
        )
        out: list[StoredEvent] = []
        last: dict[tuple[str, ...], int] = {}
        for e in every:
            key = (e.kind, e.subject, e.service, e.host, e.role, e.old, e.new, e.cause)
            if key in last and e.at_us - last[key] <= SAME_EVENT_US:
                continue
            last[key] = e.at_us
            out.append(e)
        return out

    def windows(self, *, include_removed: bool = False) -> list[StoredWindow]:
        """Every replica's windows, each once, numbered 1.. in time order (a window's id
        is local to a store). Config windows are the same window in every replica (each
        mirrors the config); a window added with ``slurm-sla maintenance add`` on one
        replica counts for the pair."""
        chosen: dict[tuple[object, ...], StoredWindow] = {}
        for r in self.replicas:
            for w in r.store.windows(include_removed=include_removed):
                key = _window_key(w)
                if key not in chosen or _window_order(w) < _window_order(chosen[key]):
                    chosen[key] = w
        ordered = sorted(chosen.values(), key=_window_order)
        return [replace(w, id=i) for i, w in enumerate(ordered, 1)]


def _event_order(e: StoredEvent) -> tuple[object, ...]:
    return (e.at_us, e.kind, e.subject, e.service, e.host, e.role, e.old, e.new, e.cause, e.run)


def _window_key(w: StoredWindow) -> tuple[object, ...]:
    if w.origin == "config" and w.config_key:
        return ("config", w.config_key)
    return (
        w.origin, w.start_us, w.end_us, w.clusters, w.services, w.reason, w.repeat,
        w.until_us, w.timezone, w.created_by,
    )  # fmt: skip


def _window_order(w: StoredWindow) -> tuple[object, ...]:
    return (
        w.start_us, w.end_us, w.origin, w.config_key or "", w.reason, w.created_us,
        w.created_by, w.removed_us if w.removed_us is not None else -1,
        w.effective_us if w.effective_us is not None else -1, repr(w.clusters),
        repr(w.services), w.repeat, w.until_us or 0, w.timezone,
    )  # fmt: skip


def peer_paths(state_dir: Path) -> list[Path]:
    """The peers' ledgers pulled into ``state_dir`` (none: a single replica)."""
    directory = state_dir / PEERS_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.endswith(PEER_SUFFIX))


def peer_path(state_dir: Path, name: str) -> Path:
    if not name or "/" in name or name.startswith(".") or "\0" in name:
        raise MonitorError(f"not a usable replica name: {name!r}")
    return state_dir / PEERS_DIR / f"{name}{PEER_SUFFIX}"

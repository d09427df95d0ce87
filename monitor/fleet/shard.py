"""Which clusters of a shared configuration one daemon watches: ``[monitor] shard = "K/N"``.

Every daemon of a fleet reads the same list of clusters and keeps the ones its shard owns,
so an inventory is written once and no cluster is watched twice or not at all. Ownership is
rendezvous (highest random weight) hashing of the cluster's name: it needs no coordination,
gives each shard about 1/N of the clusters, and when N grows to N+1 only the clusters the
new shard wins move (about 1/(N+1) of them); `name mod N` would move almost all of them,
and with them their ledger history.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_SHARDS = 1024
_SYNTAX = re.compile(r"\s*(\d{1,4})\s*/\s*(\d{1,4})\s*")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based, as written) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, name: str) -> bool:
        return owner(name, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"K/N"`` with 1 <= K <= N <= MAX_SHARDS; ValueError says what is wrong."""
    m = _SYNTAX.fullmatch(text)
    if not m:
        raise ValueError(f'expected "K/N" (e.g. "2/5": the second of five shards), got {text!r}')
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"the shard count must be 1..{MAX_SHARDS}, got {count}")
    if not 1 <= index <= count:
        raise ValueError(f"the shard number must be 1..{count}, got {index}")
    return Shard(index, count)


def owner(name: str, count: int) -> int:
    """The shard (1..count) that owns cluster ``name``: the one with the highest weight."""
    return max(range(1, count + 1), key=lambda k: _weight(name, k))


def _weight(name: str, shard: int) -> bytes:
    return hashlib.sha256(f"{shard}\0{name}".encode()).digest()

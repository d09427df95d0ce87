"""One timeline from several replicas' timelines of one service, pure: no I/O, no clock.

Each replica of an HA pair probes every cluster from its own host and keeps its own
ledger; this is how their views of one service over [lo, hi) become one. Per time slice:

1. a state observed by some replica (``up``, ``degraded``, ``down``) beats not knowing:
   one replica's blind time (``unknown``) or absence (``unmonitored``, the monitor was
   not running) is covered by any other replica that observed;
2. when no replica observed, the slice is ``unknown`` if any replica ran but was blind,
   and ``unmonitored`` only if no replica was running at all;
3. when replicas observed *different* states (one saw down, the other up: most likely a
   partition between one monitor and the controllers), ``rule`` decides and the slice is
   recorded as a :class:`Disagreement` with every replica's view:

   - ``"up"`` (the default): the best observed state wins (up > degraded > down). A down
     seen by only one replica is most likely that replica's own network; a provider that
     answers for an SLA counts what the service delivered to someone;
   - ``"down"``: the worst observed state wins (the conservative reading);
   - ``"majority"``: the state most replicas observed; a tie goes to the best state,
     as with ``"up"`` (so with two replicas ``"majority"`` is ``"up"``).

Replicas are taken in name order, never in the order given, so the merge of a pair is the
same whichever replica computes it; a cause is that of the first replica (by name) whose
state was chosen. Steps are merged before maintenance is overlaid (maintenance windows are
the same for every replica).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitor.ledger.sla import DEGRADED, DOWN, UNKNOWN, UNMONITORED, UP, Steps
from monitor.ledger.timebase import US, iso

RULES = ("up", "down", "majority")
DEFAULT_RULE = "up"
OBSERVED = (UP, DEGRADED, DOWN)  # best first
_RANK = {UP: 0, DEGRADED: 1, DOWN: 2}


@dataclass(frozen=True)
class Disagreement:
    """[start, end): replicas observed different states; ``chosen`` is what counted."""

    start: int
    end: int
    views: tuple[tuple[str, str], ...]  # (replica, state), every replica, by name
    chosen: str

    @property
    def duration_us(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict[str, object]:
        return {
            "start": iso(self.start),
            "end": iso(self.end),
            "seconds": self.duration_us / US,
            "chosen": self.chosen,
            "views": {name: state for name, state in self.views},
        }


@dataclass(frozen=True)
class Merged:
    steps: Steps
    disagreements: tuple[Disagreement, ...]


def choose(states: list[str], rule: str) -> str:
    """The state that counts among different observed ones (``states``: one per observing
    replica)."""
    if rule == "up":
        return min(states, key=_RANK.__getitem__)
    if rule == "down":
        return max(states, key=_RANK.__getitem__)
    if rule == "majority":
        return min(set(states), key=lambda s: (-states.count(s), _RANK[s]))
    raise ValueError(f"unknown disagreement rule {rule!r}: one of {', '.join(RULES)}")


def merge_steps(replicas: Mapping[str, Steps], rule: str = DEFAULT_RULE) -> Merged:
    """The merged steps of replicas' steps over the same [lo, hi) (see the module doc)."""
    if rule not in RULES:
        raise ValueError(f"unknown disagreement rule {rule!r}: one of {', '.join(RULES)}")
    if not replicas:
        raise ValueError("merging needs at least one replica")
    names = sorted(replicas)
    parts = [replicas[n] for n in names]
    lo, hi = parts[0].bounds[0], parts[0].bounds[-1]
    for name, p in zip(names, parts, strict=True):
        if (p.bounds[0], p.bounds[-1]) != (lo, hi):
            raise ValueError(f"replica {name!r} covers another interval than {names[0]!r}")
    cuts = sorted({b for p in parts for b in p.bounds})
    index = [0] * len(parts)
    bounds, states, causes = [lo], [], []
    found: list[Disagreement] = []

    def emit(end: int, state: str, cause: str) -> None:
        if states and states[-1] == state and causes[-1] == cause:
            bounds[-1] = end
        else:
            bounds.append(end)
            states.append(state)
            causes.append(cause)

    for s, e in zip(cuts, cuts[1:], strict=False):
        here = []
        for i, p in enumerate(parts):
            while p.bounds[index[i] + 1] <= s:
                index[i] += 1
            here.append((p.states[index[i]], p.causes[index[i]]))
        seen = [st for st, _ in here if st in _RANK]
        if not seen:
            blind = [c for st, c in here if st != UNMONITORED]
            if blind:
                state, cause = UNKNOWN, blind[0]
            else:
                state, cause = UNMONITORED, here[0][1]
        else:
            state = seen[0] if len(set(seen)) == 1 else choose(seen, rule)
            cause = next(c for st, c in here if st == state)
            if len(set(seen)) > 1:
                views = tuple(zip(names, (st for st, _ in here), strict=True))
                last = found[-1] if found else None
                if last and last.end == s and (last.views, last.chosen) == (views, state):
                    found[-1] = Disagreement(last.start, e, views, state)
                else:
                    found.append(Disagreement(s, e, views, state))
        emit(e, state, cause)
    return Merged(Steps(bounds, states, causes, [False] * len(states)), tuple(found))

"""Hysteresis for one value observed again and again (a state, the serving controller).

A new value is confirmed after ``threshold(new)`` consecutive observations of it, and the
change is dated at the first of them (backdated): the outage began when it was first seen,
not when we became sure of it. Pure: observation times come in with the observations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Change(Generic[T]):
    old: T
    new: T
    at: dt.datetime  # first observation that showed ``new``
    confirmed_at: dt.datetime  # observation that confirmed it
    cause: str


class Hysteresis(Generic[T]):
    def __init__(self, initial: T, since: dt.datetime, threshold: Callable[[T, T], int]) -> None:
        self.value = initial
        self.since = since
        self._threshold = threshold
        self._has_candidate = False  # a flag, not a sentinel value: None is a valid T
        self._candidate: T | None = None
        self._candidate_since: dt.datetime | None = None
        self._candidate_cause = ""
        self._count = 0

    @property
    def pending(self) -> bool:
        """A different value has been seen but not yet confirmed."""
        return self._has_candidate

    @property
    def pending_since(self) -> dt.datetime | None:
        """When the unconfirmed value was first seen: its change, once confirmed, is dated
        there, so what was recorded since then may still be rewritten."""
        return self._candidate_since if self._has_candidate else None

    def observe(
        self,
        value: T,
        at: dt.datetime,
        cause: str = "",
        immediate: bool = False,
        began: dt.datetime | None = None,
        held: int = 0,
    ) -> Change[T] | None:
        """Feed one observation; return the confirmed change, if this one confirms it.

        ``immediate`` confirms at once (a co-located daemon's process is gone: no ping
        threshold can add certainty to that). ``began``: the new value was already true
        before this observation showed it (rounds that a grace period held back), so the
        change is dated there; ``held``: how many such rounds there were, each an
        observation of the new value that counts toward the threshold.
        """
        if value == self.value:
            self._reset()
            return None
        if not self._has_candidate or value != self._candidate:
            self._has_candidate = True
            since = at if began is None else min(at, began)
            self._candidate, self._candidate_since, self._count = value, since, held
            self._candidate_cause = cause
        self._count += 1
        if immediate or self._count >= self._threshold(self.value, value):
            assert self._candidate_since is not None
            change = Change(
                self.value, value, self._candidate_since, at, self._candidate_cause or cause
            )
            self.value, self.since = value, self._candidate_since
            self._reset()
            return change
        return None

    def _reset(self) -> None:
        self._has_candidate = False
        self._candidate, self._candidate_since, self._count = None, None, 0
        self._candidate_cause = ""

"""The ``/metrics`` exposition, rendered when what it shows changes, not per scrape: a scrape
sends the bytes of the last render.

A render reads every collector (at 1,000 clusters: 17 MB, ~180,000 samples, about a second
of CPU), so it runs on its own thread, when the snapshot changes and at most once a period;
every scraper, however many at once, gets the bytes already made. The period grows with the
render's own CPU time (at most ``budget`` of a core goes to rendering), so a large fleet
never spends its core on /metrics: with 1 cluster the period is ``max_age`` (1 s, as
before), with a render of 0.5 s of CPU it is 2.5 s. CPU, not wall time: on a loaded
machine the wall time of a render grows with everyone else's work, not with its own.
What a scrape gets is then never older than one period plus one render, besides the
snapshot's own age (``slurm_sla_monitor_snapshot_timestamp_seconds`` says when it was taken).

The values that move without a new snapshot (the process's CPU, the endpoint's
connections, the alert outbox) are re-rendered when a scrape finds the bytes older than
``max_age``: that scrape still gets the bytes it found, the next one the new ones.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import gc
import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from monitor.coalesce import CoalescedAction

Render = Callable[[], bytes]
Encoder = Callable[[Any], bytes]


def render_by_family(encoder: Encoder, registry: Any) -> bytes:
    """``encoder(registry)`` (prometheus_client's text or OpenMetrics encoder), one metric
    family at a time: each family's samples are garbage once its bytes are made. Encoding
    the whole registry at once holds every sample object and every line as a str until the
    end: at 1,000 clusters that peak, not the 17 MB answer, set the daemon's RSS."""
    end = encoder(_Families(()))  # b"" for text; OpenMetrics closes with "# EOF"
    # One growing buffer whose bytes are handed out without a copy (BytesIO.getvalue),
    # not a list of chunks joined at the end: the join held the answer twice.
    out = io.BytesIO()
    for family in registry.collect():
        for chunk, skip in _encoded_in_slices(encoder, family, len(end)):
            out.write(memoryview(chunk)[skip : len(chunk) - len(end)])
            del chunk
    out.write(end)
    return out.getvalue()


SLICE_SAMPLES = 4096
# The text format moves these samples after the family's other lines: a family holding any
# is encoded whole.
_MOVED_SUFFIXES = ("_created", "_gsum", "_gcount")


def _encoded_in_slices(encoder: Encoder, family: Any, end: int) -> Iterator[tuple[bytes, int]]:
    """A family's encoding as (bytes, how many leading bytes to skip) pieces whose
    concatenation is ``encoder`` of the whole family. A large family (at 1,000 clusters a
    histogram of 54,000 samples, 5 MB of text) is encoded a slice of samples at a time:
    whole, its text was held three times at once (a str per line, joined, encoded) on top
    of the samples. Each slice repeats the family's header lines, which are skipped."""
    samples = family.samples
    moved = tuple(family.name + suffix for suffix in _MOVED_SUFFIXES)
    if len(samples) <= SLICE_SAMPLES or any(s.name in moved for s in samples):
        yield encoder(_Families((family,))), 0
        return
    header = len(encoder(_Families((_with_samples(family, []),)))) - end
    for start in range(0, len(samples), SLICE_SAMPLES):
        part = _with_samples(family, samples[start : start + SLICE_SAMPLES])
        yield encoder(_Families((part,))), 0 if start == 0 else header


def _with_samples(family: Any, samples: list[Any]) -> Any:
    part = copy.copy(family)
    part.samples = samples
    return part


def _malloc_trim() -> Callable[[], object]:
    """glibc's ``malloc_trim(0)``, or nothing where there is none (musl, macOS). A render
    frees tens of MB of sample objects, lines and bytes at 1,000 clusters, which glibc
    otherwise keeps mapped for its next allocations. Measured there (bench_capacity, REST):
    peak RSS a few MiB lower with it, within run-to-run noise; the HTTP server's sliced
    writes did most."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own libc: no ldconfig to run
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


_TRIM = _malloc_trim()


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """The cyclic garbage collector off while a render runs. A render makes ~180,000
    short-lived objects at 1,000 clusters, freed by their reference counts; collections
    during it promoted them and set off full collections of the whole heap, 200-300 ms
    with the GIL held: a scrape then waited that long (bench_scrape's fleet part, slowest
    of 60: 290 ms with them, 16 ms without). Renders run one at a time (``_rendering``)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Families:
    """What an encoder reads: something with ``collect()``."""

    def __init__(self, families: tuple[Any, ...]) -> None:
        self._families = families

    def collect(self) -> tuple[Any, ...]:
        return self._families


@dataclass
class _Entry:
    render: Render
    body: bytes
    rendered_at: float  # when the render started: it shows the state as of then
    stale: bool = False  # the snapshot changed since


class ExpositionCache:
    """Rendered bodies per content type (text, OpenMetrics), refreshed in the background
    (``start``/``stop``) on ``changed``. Only the first scrape of a content type renders
    while it waits (the ones arriving meanwhile share that render)."""

    def __init__(
        self,
        *,
        max_age: float = 1.0,
        budget: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self._max_age = max_age
        self._cpu_clock = cpu_clock
        self._budget = budget
        self._clock = clock
        self._lock = threading.Lock()  # the entries
        self._rendering = threading.Lock()  # one render at a time
        self._entries: dict[str, _Entry] = {}
        self._refresher = CoalescedAction(
            self._refresh, max_age, name="metrics-render", clock=clock
        )
        self.last_render_seconds = 0.0
        self._running = False  # without the thread, a scrape renders what is out of date

    @property
    def period(self) -> float:
        """The shortest time between two background renders now."""
        return self._refresher.period

    def start(self) -> None:
        self._refresher.start()
        self._running = True

    def stop(self) -> None:
        self._running = False
        self._refresher.stop()

    def changed(self) -> None:
        """What the exposition shows changed (a new snapshot): render again, within the
        period. Returns at once."""
        with self._lock:
            for entry in self._entries.values():
                entry.stale = True
        self._refresher.ask()

    def peek(self, key: str) -> bytes | None:
        """The last render's bytes for ``key`` when ``get`` would send them without
        rendering (asking for a new render when they are out of date), else None. Never
        waits for a render: the HTTP server's event loop answers scrapes with it."""
        return self._last(key)[0]

    def _last(self, key: str) -> tuple[bytes | None, _Entry | None]:
        """(the bytes to send now or None, the entry found)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None, None
            fresh = not (entry.stale or self._clock() - entry.rendered_at >= self._max_age)
            if not (fresh or self._running):
                return None, entry
            if not fresh:
                self._refresher.ask()
            return entry.body, entry

    def get(self, key: str, render: Render) -> bytes:
        """The body for ``key`` (a content type): the last render's bytes when there is
        one; otherwise rendered now."""
        body, waited_for = self._last(key)
        if body is not None:
            return body
        with self._rendering:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry is not waited_for:
                    return entry.body  # rendered while this scrape waited
            started, cpu = self._clock(), self._cpu_clock()
            with _no_collection():
                body = render()
            self._took(self._clock() - started, self._cpu_clock() - cpu)
            with self._lock:
                self._entries[key] = _Entry(render, body, started)
            del entry, waited_for
            _TRIM()  # the previous body is garbage now too
            return body

    def _refresh(self) -> None:
        with self._lock:
            keys = list(self._entries)
        # The period follows the whole pass's CPU: a client asking once for each variant
        # (text, OpenMetrics, each gzipped or not) makes every pass render four bodies, and
        # a period set by one of them spent four budgets of a core on rendering.
        spent = 0.0
        for key in keys:
            with self._rendering:
                with self._lock:
                    entry = self._entries[key]
                    entry.stale = False  # a change from here on asks for the next render
                started, cpu = self._clock(), self._cpu_clock()
                with _no_collection():
                    body = entry.render()
                spent += self._cpu_clock() - cpu
                self._took(self._clock() - started, spent)
                with self._lock:
                    self._entries[key] = _Entry(entry.render, body, started, entry.stale)
                del entry, body
                _TRIM()  # the previous body is garbage now too

    def _took(self, seconds: float, cpu_seconds: float) -> None:
        self.last_render_seconds = seconds
        self._refresher.period = max(self._max_age, cpu_seconds / self._budget)

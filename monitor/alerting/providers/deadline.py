"""One delivery attempt's total deadline: connect, send and the whole answer.

A socket timeout bounds each read, so a receiver trickling a byte every second holds a
delivery for as long as it likes. A :class:`Deadline` bounds the attempt instead: the
sender runs the provider's send in its own thread and stops waiting for it when the
deadline passes; at that moment every socket the attempt registered (``on_expiry``) is shut
down, so the abandoned send ends at once instead of lingering. Whatever cannot be cut (a
hung DNS lookup) no longer holds anyone: the caller has moved on.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("slurm_sla_monitor")


class Deadline:
    """The end of one attempt, in monotonic time; ``expire`` runs the registered cuts."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds
        self._lock = threading.Lock()
        self._cuts: list[Callable[[], None]] = []
        self._twins: list[socket.socket] = []
        self._reason: str | None = None

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        return self._reason is not None or self.remaining() <= 0

    @property
    def cut(self) -> bool:
        """``expire`` ran: the attempt's sockets were shut, its outcome no longer counts."""
        return self._reason is not None

    @property
    def message(self) -> str:
        """Why the attempt ended: ``deadline exceeded (10 s)``, or the reason given."""
        return self._reason or f"deadline exceeded ({self.seconds:g} s)"

    def on_expiry(self, cut: Callable[[], None]) -> None:
        """Run ``cut`` when the deadline expires (at once if it already has)."""
        with self._lock:
            if self._reason is None:
                self._cuts.append(cut)
                return
        _run(cut)

    def watch(self, sock: socket.socket) -> socket.socket:
        """Cut ``sock``'s connection when the deadline expires, whatever becomes of this
        socket object: a TLS wrap detaches it (mid-handshake it is neither the old object
        nor yet the new one), so a duplicate descriptor of the same connection is kept and
        shut. Returns the duplicate: its owner ``release``s it when done with ``sock``."""
        twin = sock.dup()
        with self._lock:
            self._twins.append(twin)
            if self._reason is not None:
                shut(twin)
        return twin

    def release(self, twin: socket.socket) -> None:
        with self._lock:  # never closed while ``expire`` shuts it
            if twin in self._twins:
                self._twins.remove(twin)
            twin.close()

    def child(self) -> Deadline:
        """A deadline ending with this one that can also be expired on its own (one of
        several requests made at once)."""
        child = Deadline(self.seconds, self._clock)
        child._end = self._end
        self.on_expiry(child.expire)
        return child

    def expire(self, reason: str | None = None) -> None:
        """End the attempt now: ``reason`` replaces "deadline exceeded" (shutdown)."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason or f"deadline exceeded ({self.seconds:g} s)"
            cuts, self._cuts = self._cuts, []
            for twin in self._twins:
                shut(twin)
        for cut in cuts:
            _run(cut)


def _run(cut: Callable[[], None]) -> None:
    try:
        cut()
    except Exception:  # noqa: BLE001 - a cut that fails must not stop the others
        log.exception("alert.deadline_cut_failed")


def shut(sock: socket.socket | None) -> None:
    """Wake whoever is blocked on ``sock`` (shutdown, not close: the owner closes it).
    The plain socket method, so a TLS socket's state is left to its own thread."""
    if sock is None:
        return
    with contextlib.suppress(OSError):  # not connected, or closed: nothing waits on it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)

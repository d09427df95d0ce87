"""A whole-request deadline for slurmrestd requests on a pooled session.

requests' timeouts bound each socket read, not the request: a slurmrestd (or whatever
answers at its address) that trickles its status line, headers or body a byte a second
holds a probe, and the round waiting for it, for as long as it likes. A :class:`Cutoff`
bounds the request instead: every socket the request uses is registered with it (urllib3
builds connections deep inside requests, so the connection and pool classes here do it for
the request this thread is making), and one process-wide thread shuts those sockets when
the cutoff's time comes. The blocked read then fails at once and the request ends as a
timeout.

A cutoff is disarmed before its connection can go back to the pool, so it never cuts a
connection another request has taken since.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import heapq
import ipaddress
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
from urllib3.util import connection

from monitor.rest.failure import LookupTimedOut


class Cutoff:
    """One request's end, in monotonic time; its sockets are shut when it passes."""

    def __init__(self, end: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.end = end
        self._clock = clock
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._twins: list[socket.socket] = []  # duplicates we own and close
        self._armed = True
        self.cut = False  # the time came while the request was still running

    def remaining(self) -> float:
        return max(0.0, self.end - self._clock())

    def watch(self, sock: socket.socket, *, twin: bool) -> None:
        """Shut ``sock``'s connection at the cutoff. ``twin``: keep a duplicate descriptor
        instead of the object (a socket about to be wrapped in TLS is detached by the
        wrap, and mid-handshake neither object would be shut)."""
        if twin:
            with contextlib.suppress(OSError):
                sock = sock.dup()
        with self._lock:
            if not self._armed:
                if twin:
                    sock.close()
                return
            (self._twins if twin else self._socks).append(sock)
            if self.cut:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self.cut = True
            for sock in (*self._socks, *self._twins):
                _shut(sock)

    def disarm(self) -> None:
        """The request is over: nothing of it is shut from now on."""
        with self._lock:
            self._armed = False
            twins, self._twins, self._socks = self._twins, [], []
        for twin in twins:
            twin.close()


def _shut(sock: socket.socket) -> None:
    """Wake whoever reads ``sock`` (shutdown, not close: its owner closes it). The plain
    socket method, so a TLS socket's state is left to the thread using it."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Reaper:
    """The one thread that expires cutoffs when their time comes (a thread per request
    would cost a thousand clusters a thread start per probe)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Cutoff]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, cutoff: Cutoff) -> None:
        with self._cond:
            heapq.heappush(self._heap, (cutoff.end, next(self._seq), cutoff))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="rest-cutoff", daemon=True)
                self._thread.start()
            if self._heap[0][2] is cutoff:
                self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                _, _, cutoff = heapq.heappop(self._heap)
            cutoff.expire()  # a no-op for a request already over


_REAPER = _Reaper()
_current = threading.local()


@contextlib.contextmanager
def cutoff_at(end: float) -> Iterator[Cutoff]:
    """Bound the requests this thread makes inside the block by ``end`` (monotonic)."""
    cutoff = Cutoff(end)
    _REAPER.arm(cutoff)
    _current.cutoff = cutoff
    try:
        yield cutoff
    finally:
        _current.cutoff = None
        cutoff.disarm()


def _watch(sock: socket.socket | None, *, twin: bool) -> None:
    cutoff: Cutoff | None = getattr(_current, "cutoff", None)
    if cutoff is not None and sock is not None:
        cutoff.watch(sock, twin=twin)


class _Resolver:
    """Name lookups with a deadline. getaddrinfo cannot be interrupted, and a resolver
    that does not answer holds it for glibc's timeout x attempts x servers (~30 s): a few
    threads make the lookups, and a request stops waiting for one at its cutoff (the
    thread finishes it later and the answer is dropped). Few threads, so a hung resolver
    costs a bounded number of them; lookups queued behind are abandoned at their cutoffs."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="rest-dns")

    def addresses(self, host: str, port: int, wait: float) -> list[tuple[Any, ...]]:
        family = connection.allowed_gai_family()
        future = self._pool.submit(socket.getaddrinfo, host, port, family, socket.SOCK_STREAM)
        try:
            return future.result(timeout=wait)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise LookupTimedOut(
                errno.ETIMEDOUT, f"host name {host} not resolved within {wait:.3g} s"
            ) from None


_RESOLVER = _Resolver()


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


class _Watched(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        cutoff: Cutoff | None = getattr(_current, "cutoff", None)
        if cutoff is None or _literal(self._dns_host):
            sock = super()._new_conn()
        else:
            sock = self._connect_within(cutoff)
        _watch(sock, twin=True)  # before TLS: a trickled handshake is cut too
        return sock

    def _connect_within(self, cutoff: Cutoff) -> socket.socket:
        """urllib3's connect, the name looked up within the request's cutoff (a hanging
        DNS server held a probe ~30 s past it); each address then connects as urllib3
        would, by number."""
        try:
            found = _RESOLVER.addresses(self._dns_host, self.port, cutoff.remaining())
        except socket.gaierror as e:
            raise urllib3.exceptions.NameResolutionError(self.host, self, e) from e
        except LookupTimedOut as e:
            # A timeout, whichever fires first, the lookup's wait or the cutoff: it was
            # named "command_failed" when the lookup's did (a race at the same instant).
            raise urllib3.exceptions.ConnectTimeoutError(self, e.strerror) from e
        except OSError as e:
            raise urllib3.exceptions.NewConnectionError(self, e.strerror or str(e)) from e
        last: OSError | None = None
        for family, _, _, _, address in found:
            host = f"[{address[0]}]" if family == socket.AF_INET6 else address[0]
            try:
                return connection.create_connection(
                    (host, self.port), self.timeout,
                    source_address=self.source_address, socket_options=self.socket_options,
                )  # fmt: skip
            except TimeoutError as e:
                raise urllib3.exceptions.ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from e
            except OSError as e:
                last = e
        raise urllib3.exceptions.NewConnectionError(
            self, f"Failed to establish a new connection: {last}"
        ) from last


class _HTTPConnection(_Watched):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _Reused:
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        _watch(getattr(conn, "sock", None), twin=False)  # a kept-alive connection
        return conn


class _HTTPPool(_Reused, urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_Reused, urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class CuttableAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections a :class:`Cutoff` can cut (through an HTTP
    proxy too; a SOCKS proxy keeps its own classes and only its read timeouts)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


def cuttable_session(session: requests.Session | None = None) -> requests.Session:
    session = session or requests.Session()
    adapter = CuttableAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

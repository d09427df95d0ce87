"""TCP forwarding between this process's network namespace and another one (the lab's hub).

The monitor under test runs on the lab's hub, where it reaches every Slurm host (the
slurmdbd port check needs that), while the test's receivers and its scrapes live on this
namespace's loopback. A socket belongs to the namespace it was created in, so a thread
that has entered the hub's namespace creates the hub-side sockets and hands them back;
two pump threads per connection copy bytes. Loopback only, on both sides.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import threading
from collections.abc import Callable

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def socket_in(netns_path: str, make: Callable[[], socket.socket]) -> socket.socket:
    """``make()`` run in a short-lived thread that entered ``netns_path``'s namespace."""
    out: list[socket.socket | BaseException] = []

    def enter_and_make() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {netns_path}: {os.strerror(err)}")
            finally:
                os.close(fd)
            out.append(make())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            out.append(exc)

    t = threading.Thread(target=enter_and_make)
    t.start()
    t.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def _listener() -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def _connect_to(port: int) -> Callable[[], socket.socket]:
    def make() -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=10)

    return make


class Forward:
    """Accepts on ``listener``; for each connection, opens ``connect()`` and pumps."""

    def __init__(self, listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
        self.listener = listener
        self.connect = connect
        self.port: int = listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = self.connect()
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class NetnsBridge:
    """Forwards between here and the namespace at ``netns_path``; close() stops them."""

    def __init__(self, netns_path: str) -> None:
        self.netns_path = netns_path
        self._forwards: list[Forward] = []

    def into(self, port: int) -> int:
        """A local port whose connections reach 127.0.0.1:``port`` inside the namespace."""
        fwd = Forward(_listener(), lambda: socket_in(self.netns_path, _connect_to(port)))
        self._forwards.append(fwd)
        return fwd.port

    def out_of(self, port: int) -> int:
        """A port inside the namespace whose connections reach our 127.0.0.1:``port``."""
        fwd = Forward(socket_in(self.netns_path, _listener), _connect_to(port))
        self._forwards.append(fwd)
        return fwd.port

    def free_port(self) -> int:
        """A port free on the namespace's loopback (for a server started there)."""
        with socket_in(self.netns_path, _listener) as s:
            return s.getsockname()[1]

    def close(self) -> None:
        for fwd in self._forwards:
            fwd.close()
        self._forwards.clear()

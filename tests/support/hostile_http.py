"""A hostile HTTP server on loopback for the REST backend's tests: raw sockets, so it can do
what no well-behaved server does (never answer, trickle its headers or body, redirect the
token elsewhere, send megabytes), over plain TCP or TLS. ``serve(conn, path, headers)``
writes the whole exchange for one request; the connection is closed after it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

Serve = Callable[["Conn", str, dict[str, str]], None]


class Conn:
    """One accepted connection; every write and wait ends once the server is closing."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        head = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        head.update(headers or {})
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        self.send(f"HTTP/1.1 {status} X\r\nConnection: close\r\n{lines}\r\n".encode() + data)

    def trickle(self, data: bytes, every: float) -> None:
        """``data`` a byte at a time, one each ``every`` seconds, until closed."""
        for i in range(len(data)):
            if not self.send(data[i : i + 1]) or self.stopping.wait(every):
                return

    def hold(self) -> None:
        """Never answer."""
        self.stopping.wait()


class HostileServer:
    def __init__(self, serve: Serve, tls: ssl.SSLContext | None = None) -> None:
        self.serve = serve
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._tls = tls
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._handle, args=(sock,), daemon=True)
            with self._lock:
                self._conns.append(sock)
                self._threads.append(thread)
            thread.start()

    def _handle(self, sock: socket.socket) -> None:
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
                with self._lock:
                    self._conns.append(sock)  # the wrap detached the plain one
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            with self._lock:
                self.requests.append((path, headers))
            self.serve(Conn(sock, self._stopping), path, headers)
        except (OSError, ssl.SSLError, IndexError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        self._listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for sock in conns:  # wakes a handler still reading the request
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        self._accepting.join()
        for thread in threads:
            thread.join()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def openapi(*versions: str) -> dict[str, Any]:
    """The OpenAPI document of a slurmrestd offering ``versions``."""
    paths = {
        f"/{api}/{v}/{ep}": {}
        for v in versions
        for api, ep in (("slurm", "ping"), ("slurm", "diag"))
    }
    return {"openapi": "3.0.2", "paths": paths}

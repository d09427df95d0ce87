"""The scrape answered on the event loop (``_App.quick``), tried as a hostile client
would: credentials it must not let through, reloads, pipelining, a client hogging the loop,
collectors that fail."""

from __future__ import annotations

import base64
import gc
import socket
import threading

import bcrypt
from prometheus_client import CollectorRegistry, Gauge

from exporters.http import Health, MetricsServer
from exporters.http_server import HttpServer, Limits, Request, Response
from exporters.web_config import parse_web_config


def _registry() -> CollectorRegistry:
    out = CollectorRegistry()
    Gauge("slurm_test_value", "a value", registry=out).set(7)
    return out


def _web(password: bytes):
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(4)).decode()
    return parse_web_config(f"basic_auth_users:\n  u: {hashed}\n")


def _basic(credentials: bytes) -> str:
    return "Basic " + base64.b64encode(credentials).decode()


def _exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _get(port: int, target: str, auth: str | None, method: str = "GET") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if auth is not None:
        head += f"Authorization: {auth}\r\n"
    return _exchange(port, (head + "\r\n").encode())


def test_only_a_verified_pair_gets_the_quick_answer_and_a_reload_forgets_it():
    server = MetricsServer("127.0.0.1", 0, _registry(), lambda: Health(True, {}), _web(b"p"))
    server.start()
    try:
        port = server.port
        good = _basic(b"u:p")
        assert _status(_get(port, "/metrics", good)) == 200  # verified, rendered
        assert _status(_get(port, "/metrics", good)) == 200  # the quick path
        for auth in (
            _basic(b"u:x"),
            _basic(b"U:p"),
            _basic(b"u:p\0"),
            _basic(b"u:p" + b"x" * 80),
            _basic(b"u:"),
            _basic(b":p"),
            "Bearer " + base64.b64encode(b"u:p").decode(),
            None,
        ):
            for method in ("GET", "HEAD"):
                for target in ("/metrics", "/metrics?x", "/metrics/", "//metrics"):
                    answer = _get(port, target, auth, method)
                    assert _status(answer) in (401, 404), (auth, method, target, answer)
                    assert b"slurm_test_value" not in answer
        # a wrong header first, then the good one: the first is what counts
        twice = (
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: {_basic(b'u:x')}\r\nAuthorization: {good}\r\n\r\n"
        ).encode()
        assert _status(_exchange(port, twice)) == 401
        for line in (b"GET http://x/metrics HTTP/1.1", b"get /metrics HTTP/1.1"):
            answer = _exchange(port, line + b"\r\nConnection: close\r\n\r\n")
            assert _status(answer) in (400, 405) and b"slurm_test_value" not in answer
        http10 = _exchange(port, b"GET /metrics HTTP/1.0\r\nAuthorization: " + good.encode()
                           + b"\r\n\r\n")
        assert _status(http10) == 200 and b"slurm_test_value 7.0" in http10
        server.set_web_config(_web(b"q"))
        for method in ("GET", "HEAD"):
            assert _status(_get(port, "/metrics", good, method)) == 401
        assert _status(_get(port, "/metrics", _basic(b"u:q"))) == 200
    finally:
        server.stop()
    assert server.open_connections == 0


def test_a_client_pipelining_quick_answers_does_not_hold_the_loop():
    """Quick answers await nothing that suspends while the client's next requests are
    already buffered: one connection pipelining scrapes held the event loop for all of
    them (a client writing 256 KiB of them in a loop: /healthz took 2 s on another
    connection). Here B's request arrives while A's first is answered; it must not wait
    for all of A's."""
    served: list[str] = []
    other = socket.socket()

    def quick(request: Request) -> Response | None:
        served.append(request.headers.get("X-Id", ""))
        if len(served) == 1:
            other.sendall(b"GET /b HTTP/1.1\r\nX-Id: b\r\nConnection: close\r\n\r\n")
        return Response(200, b"x\n")

    pipelined = 400
    server = HttpServer("127.0.0.1", 0, lambda r: Response(500), quick=quick)
    server.start()
    try:
        other.connect(("127.0.0.1", server.port))
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as hog:
            hog.sendall(
                b"GET /a HTTP/1.1\r\nX-Id: a\r\n\r\n" * (pipelined - 1)
                + b"GET /a HTTP/1.1\r\nX-Id: a\r\nConnection: close\r\n\r\n"
            )
            answers = b""
            while chunk := hog.recv(65536):
                answers += chunk
        assert answers.count(b"HTTP/1.1 200 OK") == pipelined
        other.settimeout(10)
        assert other.recv(65536).startswith(b"HTTP/1.1 200 OK")
        assert served.index("b") < pipelined // 2, served.index("b")
    finally:
        other.close()
        server.stop()

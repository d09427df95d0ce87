"""The scrape answered on the event loop (``_App.quick``), tried as a hostile client
would: credentials it must not let through, reloads, pipelining, a client hogging the loop,
collectors that fail."""

from __future__ import annotations

import base64
import gc
import http.client
import socket
import ssl
import struct
import threading

import bcrypt
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily
from structlog.testing import capture_logs

from exporters.http import Health, MetricsServer
from exporters.http_server import HttpServer, Request, Response
from exporters.web_config import parse_web_config
from tests.support.tls import self_signed


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
        http10 = _exchange(
            port, b"GET /metrics HTTP/1.0\r\nAuthorization: " + good.encode() + b"\r\n\r\n"
        )
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


class _Family:
    """A collector whose render can be made large, slow (held on ``gate``) or failing."""

    def __init__(self) -> None:
        self.samples = 10
        self.fail = False
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def collect(self):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30)
        if self.fail:
            raise RuntimeError("collector bug")
        family = GaugeMetricFamily("slurm_big", "many samples", labels=["cluster"])
        for i in range(self.samples):
            family.add_metric([f"cluster-{i:06d}"], float(i))
        yield family


def _served(family: _Family, web=None) -> MetricsServer:
    registry = _registry()
    registry.register(family)
    server = MetricsServer("127.0.0.1", 0, registry, lambda: Health(True, {}), web)
    server.start()
    return server


def _read_answer(stream) -> tuple[int, dict[str, str]]:
    """One HTTP/1.1 answer's status and headers from a socket file (the body is the
    caller's to read, by Content-Length)."""
    status = int(stream.readline().split(b" ", 2)[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def _wait_closed(server: MetricsServer) -> None:
    gone = threading.Event()
    for _ in range(1000):  # up to 10 s
        if server.open_connections == 0 or gone.wait(0.01):
            break
    assert server.open_connections == 0


def test_pipelined_heads_and_gets_and_a_client_leaving_mid_body():
    family = _Family()
    server = _served(family)
    try:
        port = server.port
        assert _status(_get(port, "/metrics", None)) == 200  # rendered: now quick
        with capture_logs() as logs:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    b"GET /metrics HTTP/1.1\r\n\r\nHEAD /metrics HTTP/1.1\r\n\r\n"
                    b"GET /metrics HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"
                    b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"
                )
                stream = sock.makefile("rb")
                bodies = []
                for method in ("GET", "HEAD", "GET", "GET", "GET"):
                    status, headers = _read_answer(stream)
                    assert status == 200
                    length = int(headers["content-length"])
                    bodies.append(b"" if method == "HEAD" else stream.read(length))
                    if method == "HEAD":
                        assert length == len(bodies[0])
                assert stream.read() == b""  # closed after Connection: close
            assert bodies[0] == bodies[2] == bodies[4] and b"slurm_big" in bodies[0]
            assert b"ok" in bodies[3]
            family.samples = 150_000  # several MiB
            server.metrics_changed()
            for _ in range(1000):  # up to 10 s for the background render
                answer = _get(port, "/metrics", None, "HEAD")
                size = int(answer.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if size > 3 << 20 or threading.Event().wait(0.01):
                    break
            assert size > 3 << 20
            for linger in (False, True):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
                assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
                if linger:  # a reset, not a FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            _wait_closed(server)
        assert not [e for e in logs if e["event"].startswith("http.")], logs
    finally:
        server.stop()


def test_a_failing_collector_costs_a_500_or_the_last_bytes_and_gc_comes_back():
    family = _Family()
    family.fail = True
    server = _served(family)
    try:
        port = server.port
        with capture_logs():
            assert _status(_get(port, "/metrics", None)) == 500  # the first render failed
        assert gc.isenabled()
        family.fail = False
        good = _get(port, "/metrics", None)
        assert _status(good) == 200 and b"slurm_big" in good
        family.fail = True
        family.entered.clear()
        with capture_logs() as logs:
            server.metrics_changed()
            assert family.entered.wait(10)
            for _ in range(1000):  # the failed background render logged
                if any(e["event"] == "coalesced.action_failed" for e in logs):
                    break
                threading.Event().wait(0.01)
            again = _get(port, "/metrics", None)
        body = again.split(b"\r\n\r\n", 1)[1]
        assert _status(again) == 200 and body == good.split(b"\r\n\r\n", 1)[1]
        assert gc.isenabled()
    finally:
        server.stop()


def test_a_slow_background_render_stalls_nobody(tmp_path):
    """A render held for as long as the test likes (at fleet size one takes a second of
    CPU): scrapes get the last bytes, /healthz and TLS handshakes are served, a client
    dawdling over its headers waits alone."""
    cert, key = self_signed(tmp_path, key="ec")
    web = parse_web_config(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
    context = ssl.create_default_context(cafile=str(cert))
    family = _Family()
    server = _served(family, web)
    try:

        def get(path: str) -> tuple[int, bytes]:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", server.port, context=context, timeout=10
            )
            conn.request("GET", path)
            answer = conn.getresponse()
            body = answer.read()
            conn.close()
            return answer.status, body

        status, before = get("/metrics")
        assert status == 200
        family.gate = threading.Event()
        family.entered.clear()
        server.metrics_changed()
        assert family.entered.wait(10)  # the background render is held
        dawdler = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            dawdler = context.wrap_socket(dawdler, server_hostname="127.0.0.1")
            dawdler.sendall(b"GET /metrics HTTP/1.1\r\nHost:")
            results: list[tuple[int, bytes]] = []

            def scrape() -> None:
                results.append(get("/metrics"))

            scrapers = [threading.Thread(target=scrape) for _ in range(20)]
            for thread in scrapers:
                thread.start()
            for thread in scrapers:
                thread.join(30)
            assert results == [(200, before)] * 20
            assert get("/healthz")[0] == 200
            assert not family.gate.is_set()  # all of it while the render was held
        finally:
            family.gate.set()
            dawdler.close()
    finally:
        server.stop()

"""The HTTP server: HEAD, protocol errors, keep-alive, deadlines, the connection cap, and a
web config swapped while it runs."""

from __future__ import annotations

import base64
import gzip
import http.client
import socket
import ssl
import threading
import time

import bcrypt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge

from exporters.http import Health, MetricsServer
from exporters.http_server import HttpServer, Limits, Request, Response, parse_head
from exporters.web_config import WebConfig, parse_web_config
from tests.support.tls import self_signed


def registry() -> CollectorRegistry:
    out = CollectorRegistry()
    Gauge("slurm_test_value", "a value", registry=out).set(7)
    return out


@pytest.fixture
def serve():
    servers: list[MetricsServer | HttpServer] = []

    def start(web: WebConfig | None = None, limits: Limits | None = None) -> MetricsServer:
        server = MetricsServer(
            "127.0.0.1", 0, registry(), lambda: Health(True, {}), web, limits=limits
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def raw(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_head_answers_like_get_without_a_body(serve):
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/metrics")
    got = conn.getresponse()
    body = got.read()
    conn.request("HEAD", "/metrics")
    head = conn.getresponse()
    assert head.status == 200 and head.read() == b""
    assert head.getheader("Content-Length") == str(len(body))
    assert head.getheader("Content-Type") == got.getheader("Content-Type")
    conn.request("HEAD", "/healthz")
    head = conn.getresponse()
    assert head.status == 200 and head.read() == b""
    # the same connection still serves a GET after the HEADs: the body framing held
    conn.request("GET", "/metrics")
    assert b"slurm_test_value 7.0" in conn.getresponse().read()


def test_other_methods_and_paths(serve):
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/metrics", body=b"x=1")
    answer = conn.getresponse()
    assert answer.status == 405 and answer.getheader("Allow") == "GET, HEAD"
    answer.read()
    conn.request("GET", "/nope")
    assert conn.getresponse().status == 404


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"garbage\r\n\r\n", b"400"),
        (b"GET /metrics HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /metrics SPDY/3\r\n\r\n", b"400"),
        (b"GET metrics HTTP/1.1\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"501"),
        (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (b"GET / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", b"413"),
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", b"400"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
        (b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * 200 + b"\r\n", b"431"),
    ],
)
def test_protocol_errors_get_an_answer_and_a_close(serve, request_bytes, status):
    server = serve()
    answer = raw(server.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:80]
    assert b"Connection: close" in answer


def test_http10_and_connection_close_end_the_connection(serve):
    server = serve()
    answer = raw(server.port, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and b"\nslurm_test_value 7.0\n" in answer
    answer = raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


def test_a_request_body_is_read_and_ignored(serve):
    server = serve()
    answer = raw(
        server.port,
        b"GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 200") == 2


def test_silent_and_slow_clients_are_cut_at_their_deadlines(serve):
    server = serve(limits=Limits(header_timeout=0.3, idle_timeout=0.3))
    with socket.create_connection(("127.0.0.1", server.port)) as idle:
        assert closed_by_server(idle, within=10)
    with socket.create_connection(("127.0.0.1", server.port)) as slow:
        slow.sendall(b"GET /metrics HTTP/1.1\r\n")
        assert closed_by_server(slow, within=10)
    with socket.create_connection(("127.0.0.1", server.port)) as kept:
        kept.sendall(b"GET / HTTP/1.1\r\n\r\n")
        kept.settimeout(5)
        assert kept.recv(65536).startswith(b"HTTP/1.1 200")
        assert closed_by_server(kept, within=10)  # then idle past idle_timeout
    answer = raw(server.port, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert b'slurm_sla_monitor_http_connections_closed_total{reason="timeout"} 3.0' in answer


def test_a_silent_tls_client_is_cut_at_the_handshake_deadline(serve, tmp_path):
    cert, key = self_signed(tmp_path, key="ec")
    web = parse_web_config(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
    server = serve(web, Limits(handshake_timeout=0.3))
    with socket.create_connection(("127.0.0.1", server.port)) as idle:
        assert closed_by_server(idle, within=10)
    # a plain-HTTP request to the TLS port fails its handshake without harm
    raw(server.port, b"GET /metrics HTTP/1.1\r\n\r\n")
    context = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=5)
    conn.request("GET", "/metrics")
    assert conn.getresponse().status == 200


def test_when_full_the_oldest_waiting_connection_makes_room(serve):
    server = serve(limits=Limits(max_connections=4))
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
    try:
        deadline = time.monotonic() + 10
        while server.open_connections < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.open_connections == 4
        answer = raw(server.port, b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
        assert closed_by_server(idle[0], within=10)  # the oldest went
        assert not closed_by_server(idle[3], within=0.05)
        answer = raw(server.port, b"GET /metrics HTTP/1.0\r\n\r\n")
        assert b'slurm_sla_monitor_http_connections_closed_total{reason="evicted"} 1.0' in answer
        assert b"slurm_sla_monitor_http_connections 4.0" in answer
    finally:
        for sock in idle:
            sock.close()


def test_when_every_connection_is_being_answered_newcomers_are_refused():
    release = threading.Event()
    entered = threading.Semaphore(0)

    def slow(request):
        entered.release()
        release.wait(10)
        return Response(200, b"done\n")

    server = HttpServer("127.0.0.1", 0, slow, limits=Limits(max_connections=2, workers=2))
    server.start()
    busy = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    try:
        for sock in busy:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert entered.acquire(timeout=5) and entered.acquire(timeout=5)
        with socket.create_connection(("127.0.0.1", server.port)) as late:
            assert closed_by_server(late, within=10)
        assert server.refused == 1
        release.set()
        for sock in busy:
            sock.settimeout(5)
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    finally:
        release.set()
        for sock in busy:
            sock.close()
        server.stop()


def test_a_handler_bug_is_a_500_not_a_dropped_connection():
    def broken(request):
        raise RuntimeError("bug")

    server = HttpServer("127.0.0.1", 0, broken)
    server.start()
    try:
        assert raw(server.port, b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 500")
    finally:
        server.stop()


def test_thread_count_is_fixed_whatever_the_clients_do(serve):
    before = threading.active_count()
    server = serve(limits=Limits(workers=3))
    clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(40)]
    try:
        for sock in clients[:20]:
            sock.sendall(b"GET /metrics HT")
        for sock in clients[20:]:
            sock.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        for sock in clients[20:]:
            sock.settimeout(5)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert threading.active_count() <= before + 1 + 1 + 3  # loop, /metrics render, workers
    finally:
        for sock in clients:
            sock.close()


def basic(credentials: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


def test_a_new_web_config_applies_at_once(serve, tmp_path):
    old = bcrypt.hashpw(b"old", bcrypt.gensalt(4)).decode()
    new = bcrypt.hashpw(b"new", bcrypt.gensalt(4)).decode()
    server = serve(parse_web_config(f"basic_auth_users:\n  prom: {old}\n"))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)

    def status(headers: dict[str, str]) -> int:
        conn.request("GET", "/metrics", headers=headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status

    assert status(basic(b"prom:old")) == 200  # verified once, then cached
    server.set_web_config(parse_web_config(f"basic_auth_users:\n  prom: {new}\n"))
    assert status(basic(b"prom:old")) == 401  # the cache went with the old config
    assert status(basic(b"prom:new")) == 200
    # TLS switched on by a reload applies to the next connection
    cert, key = self_signed(tmp_path, key="ec")
    server.set_web_config(
        parse_web_config(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
    )
    context = ssl.create_default_context(cafile=str(cert))
    tls = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=5)
    tls.request("GET", "/metrics")
    assert tls.getresponse().status == 200
    server.set_web_config(None)
    plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    plain.request("GET", "/metrics")
    assert plain.getresponse().status == 200


def test_closed_connections_leave_nothing_behind(serve, tmp_path):
    cert, key = self_signed(tmp_path, key="ec")
    server = serve(
        parse_web_config(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
    )
    context = ssl.create_default_context(cafile=str(cert))
    for close in ("close", "keep-alive"):
        for _ in range(10):
            conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=5)
            conn.request("GET", "/metrics", headers={"Connection": close})
            assert conn.getresponse().read()
            conn.close()
    deadline = time.monotonic() + 10
    while server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.open_connections == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_request_head_parses_or_gets_an_error_answer(head):
    parsed = parse_head(head + b"\r\n\r\n")
    assert isinstance(parsed, Request) or 400 <= parsed.status < 600


def test_raw_non_ascii_credentials_get_401(serve):
    hashed = bcrypt.hashpw(b"p", bcrypt.gensalt(4)).decode()
    server = serve(parse_web_config(f"basic_auth_users:\n  u: {hashed}\n"))
    for value in (b"Basic \xc3\xa9\xff", b"Basic \xff\xfe:", b"\xff", b"Basic dTpw\x00"):
        answer = raw(server.port, b"GET / HTTP/1.0\r\nAuthorization: " + value + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 401"), value
    answer = raw(server.port, b"GET / HTTP/1.0\r\nAuthorization: Basic dTpw\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


def test_metrics_are_gzipped_for_a_scraper_that_asks(serve):
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/metrics")
    plain = conn.getresponse()
    body = plain.read()
    assert plain.getheader("Content-Encoding") is None
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "deflate, gzip;q=0.9"})
    packed = conn.getresponse()
    assert packed.getheader("Content-Encoding") == "gzip"
    unpacked = gzip.decompress(packed.read())
    assert b"slurm_test_value 7.0" in unpacked and b"slurm_test_value 7.0" in body
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    refused = conn.getresponse()
    assert refused.getheader("Content-Encoding") is None
    assert refused.read().startswith(b"# HELP")


class _SlowStatus:
    """A /status whose answers wait for ``release``: it holds the workers."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def handles(self, path: str) -> bool:
        return path == "/status"

    def open(self) -> bool:
        return True

    def answer(self, target: str) -> Response:
        self.entered.release()
        self.release.wait(20)
        return Response(200, b"status\n")


def test_a_scrape_is_answered_while_every_worker_is_busy():
    """Rendered bytes go out from the event loop: 50 scrapers back to back waited mostly on
    the hop to a worker, and a worker held by something slow held scrapes behind it. A
    login still to verify (bcrypt) goes to the workers; configured headers are kept."""
    hashed = bcrypt.hashpw(b"p", bcrypt.gensalt(4)).decode()
    web = parse_web_config(
        f"basic_auth_users:\n  u: {hashed}\nhttp_server_config:\n  headers:\n"
        "    X-Frame-Options: deny\n"
    )
    status = _SlowStatus()
    server = MetricsServer(
        "127.0.0.1", 0, registry(), lambda: Health(True, {}), web, Limits(workers=2), status
    )
    server.start()
    login = {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}
    wrong = {"Authorization": "Basic " + base64.b64encode(b"u:x").decode()}
    held = []
    try:
        first = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        first.request("GET", "/metrics", headers={**login, "Accept-Encoding": "gzip"})
        assert first.getresponse().read()  # verified and rendered by a worker
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", "/status")
            held.append(conn)
        assert status.entered.acquire(timeout=5) and status.entered.acquire(timeout=5)
        scraper = http.client.HTTPConnection("127.0.0.1", server.port, timeout=3)
        scraper.request("GET", "/metrics", headers={**login, "Accept-Encoding": "gzip"})
        answer = scraper.getresponse()
        assert answer.status == 200 and answer.getheader("X-Frame-Options") == "deny"
        assert answer.getheader("Content-Encoding") == "gzip"
        assert b"slurm_test_value 7.0" in gzip.decompress(answer.read())
        # not yet rendered in plain text, or a password to check: the workers' job
        for headers in ({**login}, wrong):
            waiting = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1)
            waiting.request("GET", "/metrics", headers=headers)
            with pytest.raises(TimeoutError):
                waiting.getresponse()
            waiting.close()
    finally:
        status.release.set()
        for conn in held:
            conn.close()
        server.stop()

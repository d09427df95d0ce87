"""The REST client reads what requests takes from the environment (proxies, NO_PROXY) once
per URL, not before every request, and still honours it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.rest.client import RestClient
from monitor.rest.settings import RestSettings

TARGET = "http://slurmrestd.invalid:6820"


@pytest.fixture
def proxy():
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.path)  # a proxy gets the absolute URL
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_a_proxy_named_in_the_environment_carries_every_request(proxy, monkeypatch):
    url, seen = proxy
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", url)
    client = RestClient(RestSettings((TARGET,), timeout_seconds=2), environ={})
    client.get("slurm", "ping")
    first = len(seen)
    client.get("slurm", "ping")
    assert 0 < first < len(seen)  # each call went out, the later one too (read once)
    assert all(path.startswith(f"{TARGET}/") for path in seen)


def test_no_proxy_in_the_environment_is_honoured(proxy, monkeypatch):
    url, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "slurmrestd.invalid")
    client = RestClient(RestSettings((TARGET,), timeout_seconds=2), environ={})
    answer = client.get("slurm", "ping")
    assert answer.status is None  # went straight for the host, which does not exist
    assert seen == []

"""A body larger than one write slice (/metrics at fleet size) arrives whole, byte for byte,
plain and over TLS, and the connection stays usable for the next request."""

from __future__ import annotations

import http.client
import os
import ssl

import pytest

from exporters.http_server import HttpServer, Response
from tests.support.tls import self_signed


@pytest.mark.parametrize("tls", [False, True])
def test_a_large_body_arrives_whole_on_a_kept_alive_connection(tls, tmp_path) -> None:
    big = os.urandom(3 * (1 << 20) + 12345)  # a few slices and a partial one
    server_tls = client_tls = None
    if tls:
        cert, key = self_signed(tmp_path)
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        client_tls = ssl.create_default_context(cafile=str(cert))
    server = HttpServer("127.0.0.1", 0, lambda request: Response(200, big), tls=server_tls)
    server.start()
    try:
        if client_tls is None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        else:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", server.port, timeout=10, context=client_tls
            )
        for _ in range(2):
            conn.request("GET", "/")
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("Content-Length") == str(len(big))
            assert resp.read() == big
        conn.request("HEAD", "/")
        resp = conn.getresponse()
        assert resp.getheader("Content-Length") == str(len(big))
        assert resp.read() == b""
        conn.close()
    finally:
        server.stop()

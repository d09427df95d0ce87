"""TLS and basic auth on the HTTP endpoint, from an exporter-toolkit web-config.yml."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request

import bcrypt
import pytest
from prometheus_client import CollectorRegistry, Gauge

from exporters.http import Health, MetricsServer
from exporters.web_config import BasicAuth, load_web_config
from monitor.errors import ConfigError


def serve(web=None) -> MetricsServer:
    registry = CollectorRegistry()
    Gauge("slurm_test_value", "a value", registry=registry).set(7)
    server = MetricsServer("127.0.0.1", 0, registry, lambda: Health(True, {}), web)
    server.start()
    return server


def get(url: str, auth: str | None = None, context=None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_basic_auth(tmp_path):
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  prometheus: {hashed}\n")
    server = serve(load_web_config(path))
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        assert get(url)[0] == 401
        assert get(url, "prometheus:wrong")[0] == 401
        assert get(url, "nobody:s3cret")[0] == 401
        code, body = get(url, "prometheus:s3cret")
        assert code == 200 and "slurm_test_value 7.0" in body
        assert get(url, "prometheus:s3cret")[0] == 200  # the cached path
    finally:
        server.stop()


def test_tls(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    path = tmp_path / "web.yml"
    path.write_text(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
    server = serve(load_web_config(path))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        code, body = get(f"https://127.0.0.1:{server.port}/metrics", context=context)
        assert code == 200 and "slurm_test_value" in body
    finally:
        server.stop()


def test_bad_web_config_names_the_problem(tmp_path):
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users:\n  prometheus: plaintext\nunknown_key: 1\n")
    with pytest.raises(ConfigError) as info:
        load_web_config(path)
    text = "\n".join(info.value.problems)
    assert "basic_auth_users.prometheus: expected a bcrypt hash" in text
    assert "unknown_key: unknown key" in text
    path.write_text("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /x\n")
    with pytest.raises(ConfigError, match="tls_server_config"):
        load_web_config(path)


def test_basic_auth_rejects_garbage_headers():
    auth = BasicAuth({"u": bcrypt.hashpw(b"p", bcrypt.gensalt(4))})
    assert not auth.check(None)
    assert not auth.check("Bearer x")
    assert not auth.check("Basic !!!not-base64")
    assert auth.check("Basic " + base64.b64encode(b"u:p").decode())

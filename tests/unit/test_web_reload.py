"""The web config is part of the configuration: ``check-config`` validates it, and a reload
(SIGHUP) swaps it only when it is valid, with the reload metric telling which happened."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.service import Service
from tests.support.tls import self_signed

CLUSTER = '[[clusters]]\nname = "a"\n'


def hashed(password: bytes) -> str:
    return bcrypt.hashpw(password, bcrypt.gensalt(4)).decode()


def write_config(tmp_path: Path, web: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(
        f'[monitor]\nlisten = "127.0.0.1:0"\nstate_dir = "{tmp_path}/state"\n'
        f'web_config_file = "{web}"\n{CLUSTER}'
    )
    return path


def status(port: int, credentials: bytes) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def service(tmp_path):
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  prometheus: {hashed(b'old')}\n")
    path = write_config(tmp_path, web)
    running = Service(path, load_config(path))
    running.server.start()
    yield running, web
    running.server.stop()
    running.alerting.stop()
    running.ledger.close()
    if running.db is not None:
        running.db.close()
    running.lock.release()


def reload_gauge(service: Service) -> float:
    value = service.registry.get_sample_value("slurm_sla_config_last_reload_successful")
    assert value is not None
    return value


def test_a_reload_rotates_the_password_at_once(service):
    running, web = service
    port = running.server.port
    assert status(port, b"prometheus:old") == 200  # now cached as verified
    web.write_text(f"basic_auth_users:\n  prometheus: {hashed(b'new')}\n")
    assert running.reload() is True
    assert reload_gauge(running) == 1
    assert status(port, b"prometheus:old") == 401
    assert status(port, b"prometheus:new") == 200


@pytest.mark.parametrize(
    "bad",
    [
        "basic_auth_users:\n  - prometheus\n",
        "basic_auth_users:\n  prometheus: plaintext\n",
        "basic_auth_users: [\n",
        "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
    ],
)
def test_an_invalid_web_config_is_kept_out(service, bad):
    running, web = service
    port = running.server.port
    web.write_text(bad)
    assert running.reload() is False
    assert reload_gauge(running) == 0
    assert status(port, b"prometheus:old") == 200  # the running one stays
    web.unlink()
    assert running.reload() is False  # a vanished file too
    web.write_text(f"basic_auth_users:\n  prometheus: {hashed(b'old')}\n")
    assert running.reload() is True and reload_gauge(running) == 1


def test_check_config_validates_the_web_config(tmp_path, capsys):
    web = tmp_path / "web.yml"
    path = write_config(tmp_path, web)
    assert main(["check-config", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{web}: web config file not found"]
    web.write_text("basic_auth_users:\n  - prometheus\ntls_server_config:\n  key_file: /k\n")
    assert main(["check-config", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{web}:1: basic_auth_users: expected a mapping of user name to bcrypt hash, got a list",
        f"{web}:3: tls_server_config.cert_file: required with tls_server_config",
        f"{web}:4: tls_server_config.key_file: cannot read /k: No such file or directory",
    ]
    web.write_text("tls_server_config:\n  cert_file: x\n  key_file: y\n  min_version: TLS99\n")
    assert main(["check-config", str(path)]) == 1
    assert (
        f"{web}:4: tls_server_config.min_version: TLS99 is not one of TLS10, TLS11, TLS12, TLS13"
        in capsys.readouterr().err.splitlines()
    )
    cert, key = self_signed(tmp_path, key="ec")
    web.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        f"basic_auth_users:\n  prometheus: {hashed(b'x')}\n"
    )
    assert main(["check-config", str(path)]) == 0
    assert "OK" in capsys.readouterr().out

"""The peers' credentials as [ha] keys (issue 17): peer_user, peer_password_file and
peer_ca_file, read by `slurm-sla ledger pull` and the daemon's puller; the command line beats
the environment, which beats the config, and a credential never mixes two sources;
check-config names unreadable or world-readable files as FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporters.collectors.peer_pulls import PeerPullCollector
from exporters.http import Health, MetricsServer
from exporters.web_config import WebConfig
from monitor.cli import main
from monitor.config import parse_config
from monitor.errors import ConfigError, MonitorError
from monitor.ha.peer_auth import (
    PASSWORD_ENV,
    PASSWORD_FILE_ENV,
    USER_ENV,
    PeerAuth,
    peer_auth,
)
from monitor.ledger.peers import ExportPage, PeerPuller, Pulled
from tests.support.replicas import CONFIG, pair

HA = """
[ha]
replica = "a"
peers = ["{peer}"]
alertmanagers = ["http://127.0.0.1:9093"]
"""
AUTH = ("peer", "s3cret")


def secret_file(path: Path, text: str, mode: int = 0o640) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def ha_config(tmp_path: Path, extra: str, peer: str = "https://mon-b:9817") -> Path:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(state=tmp_path / "state") + HA.format(peer=peer) + extra)
    return path


def test_the_keys_are_read_and_a_user_needs_its_password_file(tmp_path):
    pw = secret_file(tmp_path / "pw", "s3cret\n")
    config = parse_config(
        ha_config(tmp_path, f'peer_user = "peer"\npeer_password_file = "{pw}"\n'
                  'peer_ca_file = "/etc/ca.pem"\n').read_text()
    )  # fmt: skip
    assert config.ha.peer_user == "peer"
    assert config.ha.peer_password_file == pw
    assert config.ha.peer_ca_file == Path("/etc/ca.pem")
    with pytest.raises(ConfigError) as exc:
        parse_config(ha_config(tmp_path, 'peer_user = "peer"\n').read_text(), "c.toml")
    assert exc.value.problems == [
        "c.toml:18: ha.peer_user: needs peer_password_file (the password is never written "
        "in this file, which is the same on every replica)"
    ]
    with pytest.raises(ConfigError) as exc:
        parse_config(ha_config(tmp_path, f'peer_password_file = "{pw}"\n').read_text(), "c.toml")
    assert exc.value.problems == ["c.toml:18: ha.peer_password_file: needs peer_user"]


def test_command_line_then_environment_then_config(tmp_path):
    config_pw = secret_file(tmp_path / "c", "cpw")
    config = parse_config(
        ha_config(
            tmp_path,
            f'peer_user = "from-config"\npeer_password_file = "{config_pw}"\n'
            'peer_ca_file = "/etc/ca.pem"\n',
        ).read_text()
    )
    env_pw = secret_file(tmp_path / "e", "epw\n")
    cli_pw = secret_file(tmp_path / "l", "lpw\n")
    env = {USER_ENV: "from-env", PASSWORD_FILE_ENV: str(env_pw)}

    got = peer_auth(config.ha, {})
    assert (got.auth, got.verify, got.source) == (("from-config", "cpw"), "/etc/ca.pem", "config")
    got = peer_auth(config.ha, env)
    assert (got.auth, got.source) == (("from-env", "epw"), "environment")
    # a user from one source never takes the password of another
    got = peer_auth(config.ha, {USER_ENV: "from-env"})
    assert got.auth == ("from-env", "")
    got = peer_auth(config.ha, {USER_ENV: "from-env", PASSWORD_ENV: "inline"})
    assert got.auth == ("from-env", "inline")
    got = peer_auth(config.ha, env, user="cli", password_file=cli_pw, ca_file=Path("/ca2"))
    assert (got.auth, got.verify, got.source) == (("cli", "lpw"), "/ca2", "command line")
    assert peer_auth(None, {}).auth is None and peer_auth(None, {}).verify is True


def test_an_unreadable_password_file_names_its_setting(tmp_path):
    config = parse_config(
        ha_config(
            tmp_path, f'peer_user = "peer"\npeer_password_file = "{tmp_path / "gone"}"\n'
        ).read_text()
    )
    with pytest.raises(MonitorError, match=r"\[ha\] peer_password_file .*gone: No such file"):
        peer_auth(config.ha, {})
    with pytest.raises(MonitorError, match=f"{PASSWORD_FILE_ENV}=.*nope: No such file"):
        peer_auth(None, {USER_ENV: "u", PASSWORD_FILE_ENV: str(tmp_path / "nope")})


def check(capsys, path: Path) -> tuple[int, str]:
    code = main(["check-config", str(path)])
    return code, capsys.readouterr().err


def test_check_config_names_bad_credential_files_by_line(capsys, tmp_path):
    loose = secret_file(tmp_path / "loose", "pw\n", 0o644)
    path = ha_config(
        tmp_path,
        f'peer_user = "peer"\npeer_password_file = "{loose}"\n'
        f'peer_ca_file = "{tmp_path / "no-ca.pem"}"\n',
    )
    code, err = check(capsys, path)
    assert code == 1
    assert err.splitlines() == [
        f"{path}:19: ha.peer_password_file: {loose}: readable by every user (mode 0644): "
        "chgrp slurm-sla it and chmod 0640",
        f"{path}:20: ha.peer_ca_file: {tmp_path / 'no-ca.pem'}: cannot read: No such file "
        "or directory",
    ]
    path = ha_config(tmp_path, f'peer_user = "peer"\npeer_password_file = "{tmp_path}"\n')
    code, err = check(capsys, path)
    assert (code, err) == (1, f"{path}:19: ha.peer_password_file: {tmp_path}: not a regular file\n")
    secret_file(loose, "", 0o600)
    path = ha_config(tmp_path, f'peer_user = "peer"\npeer_password_file = "{loose}"\n')
    assert check(capsys, path) == (1, f"{path}:19: ha.peer_password_file: {loose}: empty\n")
    secret_file(loose, "pw\n", 0o640)
    code, err = check(capsys, path)
    assert (code, err) == (0, "")


@pytest.fixture
def peer(tmp_path: Path):
    """Replica b's endpoint, behind basic auth AUTH; yields (a's state dir, b's URL)."""
    a, b = pair(tmp_path)
    web = WebConfig(users={AUTH[0]: bcrypt.hashpw(AUTH[1].encode(), bcrypt.gensalt(4))})
    server = MetricsServer(
        "127.0.0.1", 0, CollectorRegistry(), lambda: Health(True, {}), web,
        ledger=ExportPage(lambda: b, lambda: "b"),
    )  # fmt: skip
    server.start()
    try:
        yield a, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_ledger_pull_uses_the_config_and_the_environment_wins(capsys, monkeypatch, tmp_path, peer):
    a, url = peer
    pw = secret_file(tmp_path / "pw", AUTH[1] + "\n")
    path = tmp_path / "pull.toml"
    path.write_text(
        CONFIG.format(state=a) + HA.format(peer=url)
        + f'peer_user = "{AUTH[0]}"\npeer_password_file = "{pw}"\n'
    )  # fmt: skip
    for name in (USER_ENV, PASSWORD_FILE_ENV, PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    assert main(["ledger", "pull", "--config", str(path)]) == 0
    assert f"{url}: replica b:" in capsys.readouterr().out
    monkeypatch.setenv(USER_ENV, AUTH[0])
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    assert main(["ledger", "pull", "--config", str(path)]) == 1
    assert "HTTP 401" in capsys.readouterr().err


def test_the_daemons_puller_takes_the_credentials_at_each_pass(tmp_path, peer):
    a, url = peer
    pw = secret_file(tmp_path / "pw", "wrong\n")
    config = parse_config(
        CONFIG.format(state=a) + HA.format(peer=url)
        + f'peer_user = "{AUTH[0]}"\npeer_password_file = "{pw}"\n'
    )  # fmt: skip
    puller = PeerPuller(
        lambda: config.ha.peers, lambda: a, credentials=lambda: peer_auth(config.ha, {})
    )
    assert "HTTP 401" in puller.run_once()[url]
    pw.write_text(AUTH[1] + "\n")  # rotated: the next pass reads it
    got = puller.run_once()[url]
    assert isinstance(got, Pulled) and got.replica == "b"
    pw.unlink()  # a password file gone fails the pass, named, and keeps what was pulled
    assert "peer_password_file" in puller.run_once()[url]
    assert got.path.exists()


def test_each_peers_pulls_are_exported(tmp_path, peer):
    a, url = peer
    dead = "http://127.0.0.1:9"
    peers = [url, dead]
    creds = PeerAuth(AUTH, True, "config")
    puller = PeerPuller(lambda: peers, lambda: a, credentials=lambda: creds, wall=lambda: 1.7e9)
    registry = CollectorRegistry()
    registry.register(PeerPullCollector(puller.status))
    assert generate_latest(registry).decode().count("{peer=") == 0  # nothing pulled yet
    puller.run_once()
    samples = {(s.name, s.labels["peer"]): s.value for m in registry.collect() for s in m.samples}
    assert samples == {
        ("slurm_sla_monitor_peer_pull_last_successful", url): 1.0,
        ("slurm_sla_monitor_peer_pull_last_successful", dead): 0.0,
        ("slurm_sla_monitor_peer_pull_last_success_timestamp_seconds", url): 1.7e9,
    }
    peers.remove(dead)  # a reload dropped it: its series go
    assert {row.url for row in puller.status()} == {url}

"""TLS and basic auth for the HTTP endpoint, read from a Prometheus exporter-toolkit
``web-config.yml``, so Prometheus users configure us as they configure every exporter::

    tls_server_config:
      cert_file: /etc/slurm-sla-monitor/tls.crt
      key_file: /etc/slurm-sla-monitor/tls.key
      client_auth_type: RequireAndVerifyClientCert   # optional
      client_ca_file: /etc/slurm-sla-monitor/ca.crt   # with the above
      min_version: TLS12                              # optional
    basic_auth_users:
      prometheus: $2y$10$...                          # bcrypt hash (htpasswd -nBC 10)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from monitor.errors import ConfigError

_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True)
class WebConfig:
    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash


def load_web_config(path: Path) -> WebConfig:
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError([f"{path}:0: cannot read web config: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        raise ConfigError([f"{path}:{line}: invalid YAML: {exc}"]) from None
    if not isinstance(doc, dict):
        raise ConfigError([f"{path}:1: expected a mapping"])
    problems: list[str] = []
    unknown = set(doc) - {"tls_server_config", "basic_auth_users", "http_server_config"}
    problems += [f"{path}:0: {k}: unknown key" for k in sorted(unknown)]
    users = {}
    for user, hashed in (doc.get("basic_auth_users") or {}).items():
        if not isinstance(hashed, str) or not hashed.startswith("$2"):
            problems.append(f"{path}:0: basic_auth_users.{user}: expected a bcrypt hash")
        else:
            users[str(user)] = hashed.encode()
    context = None
    tls = doc.get("tls_server_config")
    if tls:
        try:
            context = _ssl_context(tls)
        except (OSError, ssl.SSLError, KeyError, ValueError) as exc:
            problems.append(f"{path}:0: tls_server_config: {exc}")
    if problems:
        raise ConfigError(problems)
    return WebConfig(context, users)


def _ssl_context(tls: dict[str, Any]) -> ssl.SSLContext:
    if "cert_file" not in tls or "key_file" not in tls:
        raise ValueError("cert_file and key_file are required")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls["cert_file"], tls["key_file"])
    context.minimum_version = _VERSIONS[tls.get("min_version", "TLS12")]
    if "max_version" in tls:
        context.maximum_version = _VERSIONS[tls["max_version"]]
    auth = tls.get("client_auth_type", "NoClientCert")
    context.verify_mode = _CLIENT_AUTH[auth]
    if tls.get("client_ca_file"):
        context.load_verify_locations(tls["client_ca_file"])
    elif auth in ("RequireAndVerifyClientCert", "VerifyClientCertIfGiven"):
        raise ValueError(f"client_auth_type {auth} needs client_ca_file")
    return context


class BasicAuth:
    """Checks ``Authorization: Basic`` against bcrypt hashes. bcrypt is slow on purpose, so
    a verified (user, password) pair is remembered by its SHA-256, as exporter-toolkit does;
    a scrape every few seconds then costs one hash comparison."""

    def __init__(self, users: dict[str, bytes]) -> None:
        self._users = users
        self._good: set[bytes] = set()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    def check(self, header: str | None) -> bool:
        if not self._users:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        hashed = self._users.get(user)
        if hashed is None:
            return False
        key = hashlib.sha256(hashed + b"\0" + password.encode()).digest()
        with self._lock:
            if any(hmac.compare_digest(key, k) for k in self._good):
                return True
        if bcrypt.checkpw(password.encode(), hashed):
            with self._lock:
                self._good.add(key)
            return True
        return False

"""TLS, basic auth and response headers for the HTTP endpoint, read from a Prometheus
exporter-toolkit ``web-config.yml``, so Prometheus users configure us as they configure
every exporter::

    tls_server_config:
      cert_file: /etc/slurm-sla-monitor/tls.crt
      key_file: /etc/slurm-sla-monitor/tls.key
      client_auth_type: RequireAndVerifyClientCert   # optional
      client_ca_file: /etc/slurm-sla-monitor/ca.crt   # with the above
      min_version: TLS12                              # optional
    basic_auth_users:
      prometheus: $2y$10$...                          # bcrypt hash (htpasswd -nBC 10)
    http_server_config:
      headers: {Strict-Transport-Security: max-age=31536000}

Every problem comes out at once, as ``FILE:LINE: key.path: message``, the way
``check-config`` prints the main configuration's errors.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.boundedread import read_bytes
from monitor.errors import ConfigError

KeyPath = tuple[str, ...]

_TOP = ("tls_server_config", "basic_auth_users", "http_server_config")
_TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
)
# exporter-toolkit keys that Python's ssl module cannot honour as Go does: refused by name,
# since silently ignoring a security setting would be worse than a clear error.
_TLS_UNSUPPORTED = {
    "cipher_suites": "not supported here (OpenSSL's default TLS 1.2 suites apply)",
    "curve_preferences": "not supported here (OpenSSL's default curves apply)",
    "client_allowed_sans": "not supported here",
    "cert": "inline certificates are not supported; use cert_file",
    "key": "inline keys are not supported; use key_file",
    "client_ca": "an inline CA is not supported; use client_ca_file",
}
# Python verifies every client certificate it asks for, so "require any" (unverified) has
# no equivalent; "request" without verifying is served as not asking, which admits the
# same clients.
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# The response headers exporter-toolkit lets a web config set.
_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
)
BCRYPT_HASH = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")


@dataclass(frozen=True)
class WebConfig:
    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash
    headers: tuple[tuple[str, str], ...] = ()


def load_web_config(path: Path) -> WebConfig:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        text = read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: web config file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError([f"{path}: cannot read web config: {reason}"]) from None
    return parse_web_config(text, path)


def parse_web_config(text: str, path: Path | str = "<web config>") -> WebConfig:
    try:
        lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{path}:{line}: (syntax): invalid YAML: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}:0: (syntax): nested too deeply"]) from None
    reader = _Reader()
    config = reader.read(doc)
    if reader.errors:
        located = sorted(
            ((_line_of(lines, key), key, message) for key, message in reader.errors),
            key=lambda item: item[0],
        )
        raise ConfigError(
            [
                f"{path}:{line}: {'.'.join(map(_shown, key)) or '(top level)'}: {message}"
                for line, key, message in located
            ]
        )
    return config


class _Reader:
    def __init__(self) -> None:
        self.errors: list[tuple[KeyPath, str]] = []

    def read(self, doc: Any) -> WebConfig:
        top = self._mapping(doc, (), _TOP, what="a mapping")
        users = self._users(top.get("basic_auth_users"))
        tls = top.get("tls_server_config")
        # empty, as exporter-toolkit reads it: plain HTTP
        context = self._tls(tls) if tls is not None and tls != {} else None
        headers = self._http(top.get("http_server_config"))
        return WebConfig(context, users, headers)

    def _mapping(
        self, value: Any, key: KeyPath, known: tuple[str, ...], *, what: str
    ) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.errors.append((key, f"expected {what}, got {_kind(value)}"))
            return {}
        for name in value:
            if str(name) not in known:
                self.errors.append(((*key, str(name)), "unknown key"))
        return value

    def _users(self, value: Any) -> dict[str, bytes]:
        key = ("basic_auth_users",)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.errors.append(
                (key, f"expected a mapping of user name to bcrypt hash, got {_kind(value)}")
            )
            return {}
        users: dict[str, bytes] = {}
        for user, hashed in value.items():
            if not isinstance(hashed, str) or not BCRYPT_HASH.match(hashed):
                self.errors.append(
                    (
                        (*key, str(user)),
                        "expected a bcrypt hash ($2y$10$ and 53 characters, "
                        "e.g. from htpasswd -nBC 10 USER)",
                    )
                )
            elif ":" in str(user):
                self.errors.append(((*key, str(user)), "a user name cannot contain ':'"))
            else:
                users[str(user)] = hashed.encode("ascii")
        return users

    def _tls(self, value: Any) -> ssl.SSLContext | None:
        key = ("tls_server_config",)
        tls = self._mapping(value, key, (*_TLS_KEYS, *_TLS_UNSUPPORTED), what="a mapping")
        for name in sorted(set(map(str, tls)) & set(_TLS_UNSUPPORTED)):
            self.errors.append(((*key, name), _TLS_UNSUPPORTED[name]))
        before = len(self.errors)
        cert = self._file(tls, "cert_file", required=True)
        private = self._file(tls, "key_file", required=True)
        ca = self._file(tls, "client_ca_file", required=False)
        minimum = self._choice(tls, "min_version", _VERSIONS, "TLS12")
        maximum = self._choice(tls, "max_version", _VERSIONS, None)
        auth = self._choice(tls, "client_auth_type", _CLIENT_AUTH, "NoClientCert")
        prefer = tls.get("prefer_server_cipher_suites", True)
        if not isinstance(prefer, bool):
            self.errors.append(((*key, "prefer_server_cipher_suites"), "expected true or false"))
        if auth in ("RequireAndVerifyClientCert", "VerifyClientCertIfGiven") and ca is None:
            self.errors.append(((*key, "client_auth_type"), f"{auth} needs client_ca_file"))
        if len(self.errors) > before or cert is None or private is None:
            return None
        return self._context(cert, private, ca, minimum, maximum, auth, prefer is True)

    def _context(
        self,
        cert: str,
        private: str,
        ca: str | None,
        minimum: str | None,
        maximum: str | None,
        auth: str | None,
        prefer: bool,
    ) -> ssl.SSLContext | None:
        key = ("tls_server_config",)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert, private)
        except (ssl.SSLError, OSError) as exc:
            self.errors.append(
                (
                    (*key, "cert_file"),
                    f"cannot load {_shown(cert)} with key {_shown(private)}: {_ssl_reason(exc)}",
                )
            )
            return None
        try:
            if minimum:
                context.minimum_version = _VERSIONS[minimum]
            if maximum:
                context.maximum_version = _VERSIONS[maximum]
        except ValueError as exc:
            self.errors.append(((*key, "min_version"), f"not available here: {exc}"))
            return None
        if ca is not None:
            try:
                context.load_verify_locations(ca)
            except (ssl.SSLError, OSError) as exc:
                self.errors.append(
                    ((*key, "client_ca_file"), f"cannot load {_shown(ca)}: {_ssl_reason(exc)}")
                )
                return None
        context.verify_mode = _CLIENT_AUTH[auth or "NoClientCert"]
        if prefer:
            context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        return context

    def _file(self, tls: dict[str, Any], name: str, *, required: bool) -> str | None:
        key = ("tls_server_config", name)
        value = tls.get(name)
        if value is None or value == "":
            if required:
                self.errors.append((key, "required with tls_server_config"))
            return None
        if not isinstance(value, str):
            self.errors.append((key, f"expected a file name, got {_kind(value)}"))
            return None
        try:
            with open(value, "rb"):
                pass
        except OSError as exc:
            self.errors.append((key, f"cannot read {_shown(value)}: {exc.strerror or exc}"))
            return None
        return value

    def _choice(
        self, tls: dict[str, Any], name: str, choices: dict[str, Any], default: str | None
    ) -> str | None:
        value = tls.get(name, default)
        if value is None:
            return None
        if not isinstance(value, str) or value not in choices:
            shown = _shown(value) if isinstance(value, str) else repr(value)
            self.errors.append(
                (
                    ("tls_server_config", name),
                    f"{shown} is not one of {', '.join(choices)}",
                )
            )
            return None
        return str(value)

    def _http(self, value: Any) -> tuple[tuple[str, str], ...]:
        key = ("http_server_config",)
        http = self._mapping(value, key, ("headers", "http2"), what="a mapping")
        if not isinstance(http.get("http2", False), bool):
            self.errors.append(((*key, "http2"), "expected true or false"))
        headers = self._mapping(http.get("headers"), (*key, "headers"), _HEADERS, what="a mapping")
        out = []
        for name, text in headers.items():
            if not isinstance(text, str) or "\n" in text or "\r" in text:
                self.errors.append(((*key, "headers", str(name)), "expected a one-line string"))
            elif name in _HEADERS:
                out.append((str(name), text))
        return tuple(out)


def _key_lines(node: yaml.Node | None) -> dict[KeyPath, int]:
    """Map each key path of a YAML document to its 1-based line."""
    lines: dict[KeyPath, int] = {}

    def walk(current: yaml.Node, path: KeyPath, depth: int) -> None:
        if depth > 4 or not isinstance(current, yaml.MappingNode):
            return  # the web config is three levels deep; deeper is an error anyway
        for key_node, value_node in current.value:
            key = (*path, str(key_node.value))
            lines.setdefault(key, key_node.start_mark.line + 1)
            walk(value_node, key, depth + 1)

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, (), 0)
    return lines


def _line_of(lines: dict[KeyPath, int], key: KeyPath) -> int:
    for end in range(len(key), -1, -1):
        if key[:end] in lines:
            return lines[key[:end]]
    return 0


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "nothing"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _shown(text: str) -> str:
    """``text`` as is when it prints on one line, else quoted with escapes: every error stays
    one readable line whatever a file name or key holds."""
    return text if text.isprintable() else repr(text)


def _ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)  # e.g. KEY_VALUES_MISMATCH, PEM_LIB
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)

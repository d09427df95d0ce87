"""The exporter-toolkit web-config.yml: validation with FILE:LINE errors, basic auth that
neither leaks user names nor breaks on malformed credentials, TLS and client certificates."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request

import bcrypt
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge

from exporters.basic_auth import BasicAuth, Decision
from exporters.http import Health, MetricsServer
from exporters.web_config import load_web_config, parse_web_config
from monitor.errors import ConfigError
from tests.support.http_client import basic, get
from tests.support.tls import self_signed, signed_by

HASHED = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4))


def serve(web=None) -> MetricsServer:
    registry = CollectorRegistry()
    Gauge("slurm_test_value", "a value", registry=registry).set(7)
    server = MetricsServer("127.0.0.1", 0, registry, lambda: Health(True, {}), web)
    server.start()
    return server


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_web_config(text, "web.yml")
    return info.value.problems


def test_basic_auth_over_http(tmp_path):
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  prometheus: {HASHED.decode()}\n")
    server = serve(load_web_config(path))
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        code, _, headers = get(url)
        assert code == 401 and headers["WWW-Authenticate"].startswith("Basic")
        assert get(url, basic(b"prometheus:wrong"))[0] == 401
        assert get(url, basic(b"nobody:s3cret"))[0] == 401
        code, body, _ = get(url, basic(b"prometheus:s3cret"))
        assert code == 200 and "slurm_test_value 7.0" in body
        assert get(url, basic(b"prometheus:s3cret"))[0] == 200  # the cached path
    finally:
        server.stop()


# Every one of these must be a 401, never a 500, a traceback or a dropped connection.
MALFORMED = [
    None,
    "",
    "Basic",
    "Basic ",
    "Bearer abc",
    "Basic !!!not-base64",
    "Basic cHJvbWV0aGV1cw",  # "prometheus" without padding
    basic(b"prometheus"),  # no colon
    basic(b"prometheus:" + b"s3cret" + b"x" * 80),  # over bcrypt's 72 bytes
    basic(b"prometheus:" + b"\xff\xfe"),  # not UTF-8
    basic(b"\xffprometheus:s3cret"),
    basic(b":s3cret"),
    basic(b"prometheus:s3cret\x00"),
    basic(b"prometheus:s3cret"[:-1]),
    basic(b"prometheus:s3cret" * 5),
    "Basic " + base64.b64encode(b"prometheus:s3cret").decode() + "====",
    "Basic " + "A" * 5000,
    "Basic w6k6w6k=",  # "é:é"
    "Basic \u00e9\u00e9\u00e9",
]


@pytest.mark.parametrize("header", MALFORMED)
def test_malformed_credentials_are_refused(header):
    auth = BasicAuth({"prometheus": HASHED})
    assert auth.check(header) is False


def test_malformed_credentials_answer_401_over_http(tmp_path):
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  prometheus: {HASHED.decode()}\n")
    server = serve(load_web_config(path))
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        for header in MALFORMED:
            # urllib cannot send non-latin-1 header values; the raw-socket tests cover those
            if header is None or header.isascii():
                assert get(url, header)[0] == 401, header
        assert get(url, basic(b"prometheus:s3cret"))[0] == 200
    finally:
        server.stop()


def test_a_password_over_72_bytes_never_matches_its_prefix():
    long_hash = bcrypt.hashpw(b"a" * 72, bcrypt.gensalt(4))
    auth = BasicAuth({"u": long_hash})
    assert auth.check(basic(b"u:" + b"a" * 72))
    assert not auth.check(basic(b"u:" + b"a" * 73))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.binary().map(lambda b: "Basic " + base64.b64encode(b).decode())))
def test_no_header_makes_basic_auth_raise(header):
    auth = BasicAuth({"prometheus": HASHED})
    assert auth.check(header) is False


@pytest.mark.parametrize("cost", [4, 6])
def test_unknown_users_are_checked_at_the_configured_cost(cost):
    from exporters.basic_auth import _dummy_hash

    users = {"a": bcrypt.hashpw(b"x", bcrypt.gensalt(cost)), "b": HASHED}
    assert _dummy_hash(users)[:7] == b"$2b$%02d$" % max(cost, 4)
    assert bcrypt.checkpw(b"anything", _dummy_hash(users)) is False


def test_unknown_users_cost_bcrypt_too():
    auth = BasicAuth({"prometheus": HASHED})
    assert auth.quick(basic(b"nobody:x")) is Decision.VERIFY
    assert auth.quick(basic(b"prometheus:x")) is Decision.VERIFY
    assert auth.quick("Bearer x") is Decision.DENY
    assert BasicAuth({}).quick(None) is Decision.ALLOW


def test_web_config_errors_name_file_line_and_key():
    out = problems(
        "basic_auth_users:\n  prometheus: plaintext\n  other: $2y$10$short\nunknown_key: 1\n"
    )
    assert "web.yml:2: basic_auth_users.prometheus: expected a bcrypt hash" in out[0]
    assert out[1].startswith("web.yml:3: basic_auth_users.other: expected a bcrypt hash")
    assert out[2] == "web.yml:4: unknown_key: unknown key"


def test_basic_auth_users_of_the_wrong_type_is_one_line():
    assert problems("basic_auth_users:\n  - prometheus\n") == [
        "web.yml:1: basic_auth_users: expected a mapping of user name to bcrypt hash, got a list"
    ]
    assert problems("- a\n") == ["web.yml:1: (top level): expected a mapping, got a list"]


def test_unknown_tls_version_is_named(tmp_path):
    cert, key = self_signed(tmp_path, key="ec")
    out = problems(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n  min_version: TLS99\n"
    )
    assert out == [
        "web.yml:4: tls_server_config.min_version: TLS99 is not one of TLS10, TLS11, TLS12, TLS13"
    ]


def test_unreadable_cert_and_key_are_named(tmp_path):
    out = problems("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /x.key\n")
    assert out == [
        "web.yml:2: tls_server_config.cert_file: cannot read /nonexistent.crt: "
        "No such file or directory",
        "web.yml:3: tls_server_config.key_file: cannot read /x.key: No such file or directory",
    ]
    cert, key = self_signed(tmp_path, key="ec")
    other_cert, _ = self_signed(tmp_path, "other", key="ec")
    out = problems(f"tls_server_config:\n  cert_file: {other_cert}\n  key_file: {key}\n")
    assert len(out) == 1 and out[0].startswith("web.yml:2: tls_server_config.cert_file: cannot")
    assert problems("tls_server_config:\n  key_file: /x\n")[0].startswith(
        "web.yml:1: tls_server_config.cert_file: required"
    )


def test_yaml_errors_and_missing_files(tmp_path):
    out = problems("basic_auth_users:\n  a: [\n")
    assert len(out) == 1 and out[0].startswith("web.yml:3: (syntax): invalid YAML")
    with pytest.raises(ConfigError) as info:
        load_web_config(tmp_path / "absent.yml")
    assert info.value.problems == [f"{tmp_path / 'absent.yml'}: web config file not found"]
    assert parse_web_config("", "web.yml").users == {}
    assert parse_web_config("tls_server_config: {}\n", "web.yml").ssl_context is None
    assert parse_web_config("tls_server_config:\n", "web.yml").ssl_context is None


def test_unsupported_settings_are_refused_by_name(tmp_path):
    cert, key = self_signed(tmp_path, key="ec")
    out = problems(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"
        "  client_auth_type: RequireAnyClientCert\n"
        "http_server_config:\n  headers:\n    X-Bogus: 1\n"
    )
    text = "\n".join(out)
    assert "web.yml:4: tls_server_config.cipher_suites: not supported here" in text
    assert "web.yml:5: tls_server_config.client_auth_type: RequireAnyClientCert is not one" in text
    assert "web.yml:8: http_server_config.headers.X-Bogus: unknown key" in text


def test_tls_and_configured_headers(tmp_path):
    cert, key = self_signed(tmp_path, key="ec")
    path = tmp_path / "web.yml"
    path.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    )
    server = serve(load_web_config(path))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        code, body, headers = get(f"https://127.0.0.1:{server.port}/metrics", context=context)
        assert code == 200 and "slurm_test_value" in body
        assert headers["X-Frame-Options"] == "deny"
    finally:
        server.stop()


def test_client_certificates_are_required_and_verified(tmp_path):
    cert, key = self_signed(tmp_path, key="ec")
    ca = self_signed(tmp_path, "ca", key="ec")
    client = signed_by(tmp_path, ca, "prometheus")
    stranger = signed_by(tmp_path, self_signed(tmp_path, "rogue", key="ec"), "stranger")
    path = tmp_path / "web.yml"
    path.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca[0]}\n"
    )
    server = serve(load_web_config(path))
    url = f"https://127.0.0.1:{server.port}/metrics"
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.load_cert_chain(*client)
        assert get(url, context=context)[0] == 200
        for chain in (None, stranger):
            context = ssl.create_default_context(cafile=str(cert))
            if chain:
                context.load_cert_chain(*chain)
            with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
                get(url, context=context)
        context = ssl.create_default_context(cafile=str(cert))
        context.load_cert_chain(*client)
        assert get(url, context=context)[0] == 200  # refusals left the server well
    finally:
        server.stop()
    assert problems(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
    ) == [
        "web.yml:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
        "client_ca_file"
    ]


_KEYS = st.sampled_from(
    [
        "tls_server_config", "basic_auth_users", "http_server_config", "cert_file", "key_file",
        "client_auth_type", "client_ca_file", "min_version", "max_version", "headers", "http2",
        "prefer_server_cipher_suites", "cipher_suites", "X-Frame-Options", "prometheus", "TLS13",
    ]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from(["TLS12", "TLS99", "RequireAndVerifyClientCert", "/nonexistent",
                     HASHED.decode(), "$2y$10$short", "/dev/null"]),
)  # fmt: skip
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_DOCS)
def test_any_yaml_document_is_a_web_config_or_config_errors(doc):
    try:
        parse_web_config(yaml.safe_dump(doc), "web.yml")
    except ConfigError as exc:
        assert exc.problems and all(p.startswith("web.yml:") for p in exc.problems)
        assert all("\n" not in p for p in exc.problems)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_web_config_or_config_errors(text):
    try:
        parse_web_config(text, "web.yml")
    except ConfigError as exc:
        assert exc.problems and all(p.startswith("web.yml:") for p in exc.problems)


# Inputs that once broke a loader somewhere: kept as a corpus.
@pytest.mark.parametrize(
    "text",
    [
        "basic_auth_users: [prometheus]",
        "basic_auth_users: prometheus",
        "basic_auth_users:\n  ? [a]\n  : b\n",
        "tls_server_config:\n  min_version: [TLS12]\n",
        "tls_server_config:\n  client_auth_type: {a: 1}\n",
        "tls_server_config: yes\n",
        "!!python/object:os.system {}\n",
        "a: &x [*x]\n",
        "[" * 5000,
        "\t\x00",
        "basic_auth_users:\n  prometheus: " + "$2y$10$" + "a" * 53 + "\n  prometheus: x\n",
    ],
)
def test_web_config_corpus(text):
    try:
        parse_web_config(text, "web.yml")
    except ConfigError as exc:
        assert all(p.startswith("web.yml:") and "\n" not in p for p in exc.problems)

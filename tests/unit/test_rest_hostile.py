"""The REST backend against a hostile slurmrestd (or whatever answers at its address), on
loopback: whatever the server does, a call ends within its budget, memory and sockets stay
bounded, and the monitor is blind with one clear line naming the cause, never a traceback
and never a token in a message."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ClusterConfig
from monitor.probes.base import ProbeTarget
from monitor.probes.rest import REST_PING
from monitor.reasons import Reason
from monitor.rest.answer import RestAnswer
from monitor.rest.client import RestClient
from monitor.rest.settings import RestSettings
from tests.support.fakes import FakeClock
from tests.support.hostile_http import Conn, HostileServer, openapi
from tests.support.slurmrestd import recorded_json
from tests.support.tls import self_signed

PING = json.loads(recorded_json("ping", "24.11-both-up.json"))
TOKEN = "good-token"
# request_timeout_seconds as these tests set it: what they test is that it bounds a call
# whatever the server does, and they must end fast.
QUICK = 0.3
# Far above QUICK: a call still running then was never going to end on its own.
GUARD = 1.5


def client(*urls: str, **settings: object) -> RestClient:
    settings.setdefault("token_env", "SLURM_JWT")
    settings.setdefault("timeout_seconds", QUICK)
    return RestClient(RestSettings(urls, **settings), environ={"SLURM_JWT": TOKEN})


def get(c: RestClient, api: str = "slurm", endpoint: str = "ping", budget: float = QUICK):
    """``c.get`` in a thread: a call that does not end is a failure, not a hung suite."""
    done: Future[RestAnswer] = Future()

    def call() -> None:
        try:
            done.set_result(c.get(api, endpoint, budget))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            done.set_exception(exc)

    threading.Thread(target=call, daemon=True).start()
    return done.result(timeout=GUARD)


def healthy(conn: Conn, path: str, headers: dict[str, str]) -> None:
    if headers.get("X-SLURM-USER-TOKEN") != TOKEN:
        conn.answer(401, {"errors": [{"description": "Authentication failure"}]})
    elif path == "/openapi/v3":
        conn.answer(200, openapi("v0.0.41"))
    elif path == "/slurm/v0.0.41/ping":
        conn.answer(200, PING)
    else:
        conn.answer(404, {"errors": [{"description": "Unable to find requested URL"}]})


@pytest.fixture
def serve():
    servers: list[HostileServer] = []

    def start(handler, tls=None) -> HostileServer:
        servers.append(HostileServer(handler, tls))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


# --- a call ends within its budget --------------------------------------------------------


def test_a_trickled_body_is_cut_at_the_budget(serve):
    def trickle(conn: Conn, path: str, headers: dict[str, str]) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        conn.trickle(b" " * 100000, every=0.05)  # each read gets a byte: no read times out

    answer = get(client(serve(trickle).url))
    assert answer.reason is Reason.TIMEOUT
    assert "slurmrestd unreachable" in answer.message and "no complete answer" in answer.message


def test_trickled_headers_are_cut_at_the_budget(serve):
    def trickle(conn: Conn, path: str, headers: dict[str, str]) -> None:
        conn.trickle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60000, every=0.05)

    assert get(client(serve(trickle).url)).reason is Reason.TIMEOUT


def test_a_first_url_that_stops_answering_costs_one_call_not_every_call(serve):
    first_hangs = threading.Event()

    def first(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if first_hangs.is_set():
            conn.hold()
        else:
            healthy(conn, path, headers)

    one, two = serve(first), serve(healthy)
    c = client(one.url, two.url)
    assert get(c).ok and get(c).url.startswith(one.url)
    first_hangs.set()  # frozen, with its version known: the call's whole budget goes there
    assert get(c).reason is Reason.TIMEOUT
    answer = get(c)
    assert answer.ok and answer.url.startswith(two.url)


# --- what the server says -----------------------------------------------------------------


@pytest.mark.parametrize("paths", ["5", "NaN", "true"])
def test_an_openapi_document_of_the_wrong_shape_means_versions_are_tried(serve, paths):
    def odd(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            conn.answer(200, f'{{"paths": {paths}}}'.encode())
        else:
            healthy(conn, path, headers)

    answer = get(client(serve(odd).url))
    assert answer.ok and answer.url.endswith("/slurm/v0.0.41/ping")


def test_a_version_the_openapi_document_lists_but_does_not_serve_is_left_for_one_it_serves(
    serve,
):
    def lying(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            conn.answer(200, openapi("v0.0.41", "v0.0.45"))
        else:
            healthy(conn, path, headers)  # v0.0.45: 404

    c = client(serve(lying).url)
    assert get(c).url.endswith("/slurm/v0.0.41/ping")
    assert get(c).ok


def test_json_nested_too_deep_to_read_is_garbage_not_a_crash(serve):
    def deep(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            healthy(conn, path, headers)
        else:
            conn.answer(200, b'{"pings": ' + b"[" * 100000 + b"]" * 100000 + b"}")

    answer = get(client(serve(deep).url))
    assert answer.reason is Reason.PARSE


def test_a_redirect_is_not_followed_and_the_token_stays_home(serve):
    elsewhere = serve(healthy)

    def redirect(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            healthy(conn, path, headers)
        else:
            conn.answer(302, b"", {"Location": elsewhere.url + path})

    answer = get(client(serve(redirect).url))
    assert answer.reason is Reason.COMMAND_FAILED and "redirected to" in answer.message
    assert elsewhere.requests == []


# --- TLS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    return self_signed(d, "server", key="ec"), self_signed(d, "stranger", key="ec")


def tls_server(serve, cert: tuple[Path, Path]) -> HostileServer:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return serve(healthy, context)


def test_tls_that_fails_verification_says_why(serve, certs):
    server, stranger = certs
    url = tls_server(serve, server).url
    answer = get(client(url, ca_file=stranger[0]))  # not the CA that signed it
    assert answer.reason is Reason.COMMAND_FAILED
    assert re.search(
        rf"TLS: self.signed certificate \(CAs: ca_file {stranger[0]}\)", answer.message
    )
    by_name = url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1 only
    answer = get(client(by_name, ca_file=server[0]))
    assert "TLS: Hostname mismatch" in answer.message and "Max retries" not in answer.message
    assert get(client(url, ca_file=server[0])).ok


def test_a_ca_file_gone_is_named(serve, certs, tmp_path):
    answer = get(client(tls_server(serve, certs[0]).url, ca_file=tmp_path / "gone.pem"))
    assert answer.reason is Reason.COMMAND_FAILED
    assert answer.message.endswith(f"ca_file {tmp_path / 'gone.pem'}: cannot read it")


# --- the token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", [f"{TOKEN}\nsecret-second-line\n", "g\u00f6\u00f6d-token", "t\xffk"]
)
def test_a_token_no_header_can_carry_is_named_without_quoting_it(serve, tmp_path, text):
    server = serve(healthy)
    token = tmp_path / "token"
    token.write_text(text, encoding="utf-8")
    answer = get(client(server.url, token_file=token, token_env=None))
    assert answer.reason is Reason.AUTH and answer.message.startswith(f"token_file {token}: ")
    assert "secret" not in answer.message and "\u00f6" not in answer.message
    assert server.requests == []


def test_a_token_file_that_is_a_fifo_does_not_hold_the_call(serve, tmp_path):
    token = tmp_path / "token"
    os.mkfifo(token)  # no writer: opening it would wait for one
    answer = get(client(serve(healthy).url, token_file=token, token_env=None))
    assert answer.reason is Reason.AUTH and answer.message.endswith("not a regular file")


def test_a_token_renamed_into_place_is_read_even_with_the_old_size_and_mtime(serve, tmp_path):
    token = tmp_path / "token"
    token.write_text("expired-tk\n")  # as long as the good one
    c = client(serve(healthy).url, token_file=token, token_env=None)
    assert get(c).reason is Reason.AUTH
    new = tmp_path / "token.new"
    new.write_text(f"{TOKEN}\n")
    st = token.stat()
    os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))  # a copy that kept the times
    new.rename(token)
    assert get(c).ok


# --- bounded -----------------------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_many_cut_calls_leak_no_socket_and_no_thread(serve):
    def trickle(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            healthy(conn, path, headers)
        else:
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
            conn.trickle(b" " * 9, every=0.05)

    c = client(serve(trickle).url, timeout_seconds=0.1)
    assert get(c, budget=0.1).reason is Reason.TIMEOUT  # the pool and the cutter exist now
    fds, threads = open_fds(), threading.active_count()
    for _ in range(8):
        assert get(c, budget=0.1).reason is Reason.TIMEOUT
    assert open_fds() <= fds + 1  # the pool keeps at most one connection
    assert threading.active_count() <= threads + 1  # get()'s own thread, maybe not yet gone


# --- the command line ---------------------------------------------------------------------


def rest_config(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[monitor]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[clusters]]\nname = "c"\naccounting = false\nbackend = "rest"\n{body}\n'
    )
    return config


def test_probe_json_stays_json_when_a_warning_is_logged(serve, certs, tmp_path):
    """insecure_skip_verify warns at start: on stderr, never inside the JSON on stdout."""
    url = tls_server(serve, certs[0]).url
    config = rest_config(
        tmp_path, f'url = "{url}"\ntoken_env = "SLURM_JWT"\ninsecure_skip_verify = true'
    )
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "probe", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SLURM_JWT": TOKEN},
    )
    assert json.loads(done.stdout)["clusters"][0]["services"]["slurmctld"]["up"] is True
    assert done.stderr.count("rest.tls_not_verified") == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('url = "http://[::1:6820"', "clusters[0].url: not a valid URL (Invalid IPv6 URL)"),
        ('url = "http://rest:99999"', "clusters[0].url: not a valid URL (Port out of range"),
        ('url = "http://rest:6820/?x=1"', "clusters[0].url: no query or fragment"),
        ('url = "http://slurm:hunter2@rest:6820"', "clusters[0].url: no credentials in the URL"),
    ],
)
def test_check_config_refuses_a_url_the_paths_cannot_be_appended_to(
    tmp_path, capsys, body, message
):
    assert main(["check-config", str(rest_config(tmp_path, body))]) == 1
    err = capsys.readouterr().err
    assert message in err and "hunter2" not in err


@pytest.mark.parametrize("case", ["missing", "world-readable", "fifo", "empty"])
def test_check_config_names_a_token_file_the_daemon_could_not_use(tmp_path, capsys, case):
    token = tmp_path / "token"
    if case == "fifo":
        os.mkfifo(token)
    elif case != "missing":
        token.write_text("\n" if case == "empty" else TOKEN)
        token.chmod(0o644 if case == "world-readable" else 0o600)
    config = rest_config(tmp_path, f'url = "http://rest:6820"\ntoken_file = "{token}"')
    assert main(["check-config", str(config)]) == 1
    err = capsys.readouterr().err
    expected = {
        "missing": "cannot read: No such file or directory",
        "world-readable": "readable by every user (mode 0644): chmod 0600",
        "fifo": "not a regular file",
        "empty": "empty",
    }[case]
    assert f"config.toml:8: clusters[0].token_file: {token}: {expected}" in err


def test_slurmrestds_words_cannot_forge_lines_or_send_escapes(serve):
    said = "Unable to contact slurm controller\nx: slurmctld up\x1b[2J\x1b[31m"

    def forging(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            healthy(conn, path, headers)
        else:
            conn.answer(500, {"errors": [{"description": said}]})

    answer = get(client(serve(forging).url))
    assert answer.reason is Reason.UNREACHABLE  # Slurm's word, still read
    assert answer.message.isprintable() and "x: slurmctld up" in answer.message


class _AnsweredAfterADetour:
    """A client whose call answered from its second URL: 42 ms for that request, after
    whatever the first URL and the version discovery cost."""

    def get(self, api: str, endpoint: str, timeout: float | None = None) -> RestAnswer:
        url = "http://rest2:6820/slurm/v0.0.41/ping"
        return RestAnswer(url, 200, json.dumps(PING), duration_seconds=0.042)


def test_the_latency_is_the_answering_requests_not_the_detour_before_it():
    """A first slurmrestd that hangs must not make slurmctld look slow (SlurmctldSlow)."""
    target = ProbeTarget(ClusterConfig("prod", accounting=False), rest=_AnsweredAfterADetour())
    result = REST_PING.run(target, 20.0, FakeClock())
    assert result.ok and result.duration_seconds == 0.042


@pytest.mark.parametrize(
    ("sent", "words"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", "the answer was cut short"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP answer (BadStatusLine)"),
    ],
)
def test_an_answer_that_is_not_whole_http_is_named(serve, sent, words):
    def odd(conn: Conn, path: str, headers: dict[str, str]) -> None:
        conn.send(sent)

    answer = get(client(serve(odd).url))
    assert answer.reason is Reason.COMMAND_FAILED
    assert answer.message == f"slurmrestd unreachable at {answer.url}: {words}"


def test_an_answer_that_would_take_gigabytes_once_parsed_is_not_parsed(serve):
    """Within the 16 MiB read bound, ``[{},{},...]`` would be 5 million dicts (a gigabyte
    and more per parse, seen at 1.3 GB for one probe round): refused before parsing."""
    many = b'{"pings": [' + b",".join([b"{}"] * 300_000) + b"]}"

    def bloated(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            healthy(conn, path, headers)
        else:
            conn.answer(200, many)

    answer = get(client(serve(bloated).url))
    assert answer.reason is Reason.PARSE
    assert answer.message.endswith("answer of about 600001 values, over 200000: not read")


@pytest.mark.parametrize("user", ["slurm\\nX-Admin: yes", "sl urm", "sl\u00fcrm", ""])
def test_check_config_refuses_a_user_no_header_can_carry(tmp_path, capsys, user):
    config = rest_config(tmp_path, f'url = "http://rest:6820"\nuser = "{user}"')
    assert main(["check-config", str(config)]) == 1
    assert "clusters[0].user: expected a user name, got" in capsys.readouterr().err


def test_an_errors_array_of_garbage_gives_only_slurms_words(serve):
    garbage = [1, None, [2], {"description": {"x": 1}, "error": 7}, {"description": "Oops"}]

    def odd(conn: Conn, path: str, headers: dict[str, str]) -> None:
        if path == "/openapi/v3":
            healthy(conn, path, headers)
        else:
            conn.answer(500, {"errors": garbage})

    answer = get(client(serve(odd).url))
    assert answer.reason is Reason.COMMAND_FAILED
    assert answer.message == f"slurmrestd error (HTTP 500) at {answer.url}: Oops"


def test_a_name_server_that_never_answers_is_cut_at_the_budget(serve, monkeypatch):
    """getaddrinfo cannot be interrupted, and glibc waits ~30 s for a silent name server.
    The lookup is bounded by the call's budget, and named; a name that resolves still
    reaches its server (connected by number, the name kept for the Host header)."""
    import socket

    real = socket.getaddrinfo
    released = threading.Event()
    seen_hosts: list[str] = []

    def lookup(host, *args, **kwargs):
        if host == "slurmrestd.hang.test":
            released.wait(30)  # a name server that never answers
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if host == "slurmrestd.lab.test":
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    def record(conn: Conn, path: str, headers: dict[str, str]) -> None:
        seen_hosts.append(headers.get("Host", ""))
        healthy(conn, path, headers)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    try:
        port = serve(record).url.rsplit(":", 1)[1]
        hung = get(client(f"http://slurmrestd.hang.test:{port}"))
        # a timeout, named as such, whichever deadline fires first (the lookup's wait or
        # the cutoff: both at the budget; CI once got command_failed from the race)
        assert hung.reason is Reason.TIMEOUT, hung
        assert "slurmrestd unreachable" in hung.message
        assert "host name slurmrestd.hang.test not resolved within" in hung.message, hung
        ok = get(client(f"http://slurmrestd.lab.test:{port}"), budget=1.0)
        assert ok.reason is None, ok
        assert seen_hosts and all(h.startswith("slurmrestd.lab.test") for h in seen_hosts)
    finally:
        released.set()

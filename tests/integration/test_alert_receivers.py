"""Alert delivery to real receivers on loopback: an HTTP server that records requests
(webhook, Slack and PagerDuty payloads; 500s, timeouts, 429 and refused connections to
prove the outbox), the real Alertmanager (Debian's prometheus-alertmanager, started here
on a free port with its own config and storage), and an SMTP server (aiosmtpd), plain and
with STARTTLS and AUTH. Every process and server started here is stopped here."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from monitor.alerting.outbox import PENDING, SENT, Outbox
from monitor.alerting.service import Alerting
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from tests.support.alerting import DOWN, EXPOSITION_GOLDEN, UP, status
from tests.support.daemon import free_port
from tests.support.debian import ensure_packages
from tests.support.receiver import ScriptedRecorder, wait_until

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
FAST_RETRY = "[alerts.outbox]\nretry_initial_seconds = 0.2\nretry_max_seconds = 1\n"


# --- helpers -----------------------------------------------------------------------------


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def recorder() -> Iterator[ScriptedRecorder]:
    server = ScriptedRecorder()
    yield server
    server.close()


def config_file(tmp_path: Path, receivers: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[monitor]\nstate_dir = "{tmp_path / "state"}"\n[[clusters]]\nname = "prod"\n'
        f"{receivers}\n{extra}"
    )
    return path


def make(tmp_path: Path, receivers: str, extra: str = FAST_RETRY) -> tuple[Config, Alerting]:
    config = load_config(config_file(tmp_path, receivers, extra))
    return config, Alerting(
        config, Database.in_dir(config.monitor.state_dir, migrations=MIGRATIONS)
    )


@contextlib.contextmanager
def running(alerting: Alerting) -> Iterator[Alerting]:
    alerting.start()
    try:
        yield alerting
    finally:
        alerting.stop()


def outage(alerting: Alerting, **state) -> None:
    alerting.on_round(status(since=now(), **state), [], now())


def body(request: dict):
    return json.loads(request["body"])


# --- webhook, Slack, PagerDuty ------------------------------------------------------------


def test_webhook_slack_and_pagerduty_get_their_payloads(tmp_path, recorder, monkeypatch):
    (tmp_path / "hmac").write_text("k3y\n")
    monkeypatch.setenv("PD_ROUTING_KEY", "pd-routing-key")
    _, alerting = make(
        tmp_path,
        f"""
[[receivers]]
name = "hook"
type = "webhook"
url = "{recorder.url}/hook"
bearer_token = "t0ken"
hmac_secret_file = "{tmp_path / "hmac"}"
[[receivers]]
name = "chat"
type = "slack"
url = "{recorder.url}/slack"
[[receivers]]
name = "pager"
type = "pagerduty"
routing_key_env = "PD_ROUTING_KEY"
url = "{recorder.url}/pd"
""",
    )
    with running(alerting):
        outage(alerting, ctl1=DOWN, ctl2=DOWN)
        (hook,) = recorder.wait_for(1, "/hook")
        (chat,) = recorder.wait_for(1, "/slack")
        (pd,) = recorder.wait_for(1, "/pd")  # BackupDown is inhibited: one event
        doc = body(hook)
        assert doc["version"] == "4" and doc["status"] == "firing" and doc["receiver"] == "hook"
        assert doc["groupLabels"] == {"cluster": "prod"}
        assert [a["labels"]["alertname"] for a in doc["alerts"]] == ["SlurmctldDown"]
        assert doc["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
        assert hook["headers"]["Authorization"] == "Bearer t0ken"
        mac = hmac.new(b"k3y", hook["body"], hashlib.sha256).hexdigest()
        assert hook["headers"]["X-Slurm-SLA-Signature"] == f"sha256={mac}"
        assert body(chat)["text"] == "[FIRING:1] prod: SlurmctldDown"
        assert body(chat)["attachments"][0]["color"] == "#d63232"
        event = body(pd)
        assert event["routing_key"] == "pd-routing-key"
        assert (event["event_action"], event["dedup_key"]) == (
            "trigger",
            "prod/SlurmctldDown/slurmctld",
        )
        assert event["payload"]["severity"] == "critical"

        outage(alerting)  # restored
        resolved = body(recorder.wait_for(2, "/hook")[1])
        assert resolved["status"] == "resolved"
        assert resolved["alerts"][0]["endsAt"] > resolved["alerts"][0]["startsAt"]
        assert body(recorder.wait_for(2, "/slack")[1])["text"] == "[RESOLVED] prod: SlurmctldDown"
        pd_resolve = body(recorder.wait_for(2, "/pd")[1])
        assert pd_resolve == {
            "routing_key": "pd-routing-key",
            "event_action": "resolve",
            "dedup_key": "prod/SlurmctldDown/slurmctld",
        }
        stats = alerting.status().receivers
        assert {n: (s.sent_total, s.queued) for n, s in stats.items()} == {
            "hook": (2, 0),
            "chat": (2, 0),
            "pager": (2, 0),
        }


def test_500_and_timeout_are_retried_until_delivered(tmp_path, recorder):
    recorder.script = [(500, {}, 0.0), (200, {}, 2.0)]  # an error, then too slow an answer
    _, alerting = make(
        tmp_path,
        f"""
[[receivers]]
name = "hook"
type = "webhook"
url = "{recorder.url}/hook"
timeout_seconds = 0.5
""",
    )
    with running(alerting):
        outage(alerting, ctl2=DOWN)
        got = recorder.wait_for(3, "/hook")
        assert [r["answered"] for r in got] == [500, 200, 200]
        wait_until(lambda: alerting.outbox.items(SENT), what="the row marked sent")
        (row,) = alerting.outbox.items(SENT)
        assert row.attempts == 3
        assert [body(r)["alerts"][0]["fingerprint"] for r in got] == [
            row.notification.alerts[0].fingerprint
        ] * 3
        s = alerting.status().receivers["hook"]
        assert (s.sent_total, s.failed_total, s.queued) == (1, 2, 0)


def test_a_receiver_down_for_the_whole_incident_gets_firing_then_resolved(tmp_path):
    port = free_port()  # nothing listens: connection refused
    _, alerting = make(
        tmp_path,
        f"""
[[receivers]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:{port}/hook"
""",
    )
    with running(alerting):
        outage(alerting, ctl1=DOWN, ctl2=DOWN)
        wait_until(lambda: alerting.outbox.items()[0].attempts >= 2, what="two refused tries")
        assert alerting.outbox.items()[0].last_error == "connection refused"
        outage(alerting)  # the incident is over before the receiver comes back
        assert alerting.status().receivers["hook"].queued == 2
        server = ScriptedRecorder(port)
        try:
            got = server.wait_for(2, "/hook")
            assert [body(r)["status"] for r in got] == ["firing", "resolved"]
        finally:
            server.close()


def test_429_retry_after_is_honoured(tmp_path, recorder):
    recorder.script = [(429, {"Retry-After": "2"}, 0.0)]
    _, alerting = make(
        tmp_path,
        f"""
[[receivers]]
name = "chat"
type = "slack"
url = "{recorder.url}/slack"
""",
    )
    with running(alerting):
        outage(alerting, ctl2=DOWN)
        first, second = recorder.wait_for(2, "/slack")
        assert second["at"] - first["at"] >= 1.9
        assert second["answered"] == 200


def test_sigkill_between_commit_and_delivery_still_delivers_after_restart(tmp_path, recorder):
    config_file(
        tmp_path,
        f"""
[[receivers]]
name = "hook"
type = "webhook"
url = "{recorder.url}/hook"
""",
    )
    script = (
        "import datetime as dt, os, signal\n"
        "from monitor.alerting.service import Alerting\n"
        "from monitor.config import load_config\n"
        "from monitor.statestore import MIGRATIONS\n"
        "from monitor.store.db import Database\n"
        "from tests.support.alerting import DOWN, UP, status\n"
        f"config = load_config({str(tmp_path / 'config.toml')!r})\n"
        "db = Database.in_dir(config.monitor.state_dir, migrations=MIGRATIONS)\n"
        "alerting = Alerting(config, db)\n"
        "now = dt.datetime.now(dt.UTC)\n"
        "assert alerting.on_round(status(ctl1=DOWN, ctl2=DOWN, since=now), [], now)\n"
        "os.kill(os.getpid(), signal.SIGKILL)  # committed, never sent\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, timeout=60, capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert recorder.requests == []
    config = load_config(tmp_path / "config.toml")
    db = Database.in_dir(config.monitor.state_dir, migrations=MIGRATIONS)
    alerting = Alerting(config, db)
    with running(alerting):
        (got,) = recorder.wait_for(1, "/hook")
        assert body(got)["alerts"][0]["labels"]["alertname"] == "SlurmctldDown"
        # and the restarted engine knows the alert: the same state notifies nobody again
        outage(alerting, ctl1=DOWN, ctl2=DOWN)
        outage(alerting)
        resolved = recorder.wait_for(2, "/hook")[1]
        assert body(resolved)["status"] == "resolved"


# --- Alertmanager --------------------------------------------------------------------------


@pytest.fixture
def alertmanager(tmp_path, recorder) -> Iterator[str]:
    """The real Alertmanager on a free loopback port, relaying to ``recorder`` /am."""
    ensure_packages("prometheus-alertmanager", binary="prometheus-alertmanager")
    port = free_port()
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text(
        "route:\n  receiver: rec\n  group_by: [cluster]\n  group_wait: 0s\n"
        "  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n- name: rec\n  webhook_configs:\n  - url: {recorder.url}/am\n"
        "    send_resolved: true\n"
    )
    proc = subprocess.Popen(
        [
            "prometheus-alertmanager",
            f"--config.file={cfg}",
            f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
            return False

        wait_until(ready, 30, "Alertmanager ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def am_alerts(url: str) -> list[dict]:
    return requests.get(f"{url}/api/v2/alerts", timeout=5).json()


def test_alertmanager_shows_our_alert_firing_then_resolved(tmp_path, recorder, alertmanager):
    _, alerting = make(
        tmp_path,
        f"""
[[receivers]]
name = "am"
type = "alertmanager"
urls = ["{alertmanager}", "http://127.0.0.1:{free_port()}"]
""",
    )
    with running(alerting):
        outage(alerting, ctl1=DOWN, ctl2=UP)

        def ours():
            return [
                a
                for a in am_alerts(alertmanager)
                if a["labels"].get("alertname") == "SlurmctldFailover"
            ]

        (alert,) = wait_until(ours, what="the alert in Alertmanager")  # type: ignore[misc]
        assert alert["status"]["state"] == "active"
        assert alert["labels"] == {
            "alertname": "SlurmctldFailover",
            "severity": "warning",
            "cluster": "prod",
            "service": "slurmctld",
            "daemon": "slurmctld",
            "host": "ctl2",
            "role": "backup",
        }
        assert "summary" in alert["annotations"] and "description" in alert["annotations"]
        fired = body(recorder.wait_for(1, "/am")[0])
        assert fired["status"] == "firing"
        assert fired["alerts"][0]["labels"]["alertname"] == "SlurmctldFailover"

        outage(alerting)  # the primary is back

        def resolved_relay():
            return [r for r in recorder.on("/am") if body(r)["status"] == "resolved"]

        (relay,) = wait_until(resolved_relay, what="Alertmanager's resolved notice")[:1]  # type: ignore[index]
        a = body(relay)["alerts"][0]
        assert a["status"] == "resolved" and a["labels"]["host"] == "ctl2"
        assert a["endsAt"] > a["startsAt"]
        assert wait_until(
            lambda: not [x for x in am_alerts(alertmanager) if x["status"]["state"] == "active"],
            what="no active",
        )


# --- email -----------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


@contextlib.contextmanager
def smtp_server(**kwargs) -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def test_email_plain_text_and_html(tmp_path):
    with smtp_server() as (port, box):
        _, alerting = make(
            tmp_path,
            f"""
[[receivers]]
name = "admins"
type = "email"
host = "127.0.0.1"
port = {port}
security = "none"
from = "slurm-sla-monitor@example.org"
to = ["hpc@example.org", "oncall@example.org"]
""",
        )
        with running(alerting):
            outage(alerting, dbd1=DOWN, dbd2=DOWN)
            wait_until(lambda: box.messages, what="a mail")
            msg = box.messages[0]
            assert msg["Subject"] == "[FIRING:1] prod: SlurmdbdDown"
            assert msg["To"] == "hpc@example.org, oncall@example.org"
            text = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            assert "[CRITICAL] SlurmdbdDown: slurmdbd of cluster prod is down" in text
            assert "<h3>[CRITICAL] SlurmdbdDown" in html
            outage(alerting)
            wait_until(lambda: len(box.messages) == 2, what="the resolved mail")
            assert box.messages[1]["Subject"] == "[RESOLVED] prod: SlurmdbdDown"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_email_with_starttls_and_auth(tmp_path):
    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"p4ss")

    (tmp_path / "smtp-password").write_text("p4ss\n")
    with smtp_server(
        tls_context=tls, require_starttls=True, authenticator=authenticator, auth_require_tls=True
    ) as (port, box):
        _, alerting = make(
            tmp_path,
            f"""
[[receivers]]
name = "admins"
type = "email"
host = "127.0.0.1"
port = {port}
security = "starttls"
ca_file = "{cert}"
username = "monitor"
password_file = "{tmp_path / "smtp-password"}"
from = "slurm-sla-monitor@example.org"
to = ["hpc@example.org"]
""",
        )
        with running(alerting):
            outage(alerting, ctl2=DOWN)
            wait_until(lambda: box.messages, what="a mail over STARTTLS")
            assert logins == [("monitor", "p4ss")]
            assert box.messages[0]["Subject"] == "[FIRING:1] prod: SlurmctldBackupDown"


# --- slurm-sla test-alert ----------------------------------------------------------------------


def test_test_alert_command(tmp_path, recorder, capsys):
    refused = free_port()
    path = config_file(
        tmp_path,
        f"""
[[receivers]]
name = "hook"
type = "webhook"
url = "{recorder.url}/hook"
[[receivers]]
name = "chat"
type = "slack"
url = "{recorder.url}/slack"
[[receivers]]
name = "dead"
type = "webhook"
url = "http://127.0.0.1:{refused}/secret-token-in-path"
""",
    )
    assert main(["test-alert", "--config", str(path), "--receiver", "hook"]) == 0
    firing, resolved = (body(r) for r in recorder.on("/hook"))
    assert (firing["status"], resolved["status"]) == ("firing", "resolved")
    assert firing["alerts"][0]["labels"]["alertname"] == "SlurmSLATestAlert"
    assert firing["alerts"][0]["labels"]["test"] == "true"
    assert firing["alerts"][0]["annotations"]["summary"].startswith("TEST alert")
    assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        "hook: test alert firing: delivered",
        "hook: test alert resolved: delivered",
    ]

    assert main(["test-alert", "--config", str(path)]) == 1
    out = capsys.readouterr()
    assert out.err.splitlines() == [
        "slurm-sla test-alert: dead: test alert firing: not delivered: connection refused"
    ]
    assert "secret-token" not in out.err + out.out
    assert body(recorder.on("/slack")[0])["text"].startswith("[TEST] [FIRING:1] prod:")

    assert main(["test-alert", "--config", str(path), "--receiver", "nope"]) == 4
    assert capsys.readouterr().err.strip() == (f"slurm-sla: no receiver named 'nope' in {path}")


# --- slow receivers: a deadline per attempt, each receiver on its own -----------------------

HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
DEFAULT_DEADLINE = 10.0  # timeout_seconds when a receiver does not set it


class Trickler:
    """A receiver that answers one byte every ``every`` seconds (0: at once) and notes
    when the client hangs up. It reads an HTTP request whole first; ``greets`` makes it
    speak first instead (an SMTP greeting). ``headers_at_once`` sends the status line and
    headers in one piece and trickles only the body."""

    def __init__(
        self,
        answer: bytes = HTTP_OK,
        every: float = 2.0,
        *,
        greets: bool = False,
        headers_at_once: bool = False,
    ) -> None:
        self.answer, self.every = answer, every
        self.greets, self.headers_at_once = greets, headers_at_once
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.conns: list[socket.socket] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, n: int, timeout: float = 30.0) -> list[dict]:
        wait_until(lambda: len(self.requests) >= n, timeout, f"{n} connection(s)")
        return self.requests

    def close(self) -> None:
        self.server.close()
        with self.lock:
            for conn in self.conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            record: dict = {"connected": time.monotonic(), "hung_up": None, "body": b""}
            if not self.greets:
                record["body"] = _read_request(conn)
            record["at"] = time.monotonic()
            with self.lock:
                self.requests.append(record)
            answer = self.answer
            if self.headers_at_once:
                head, _, rest = answer.partition(b"\r\n\r\n")
                conn.sendall(head + b"\r\n\r\n")
                answer = rest
            if not self.every:
                conn.sendall(answer)
                _hung_up(conn, record, 5.0)
                return
            for i in range(len(answer)):
                try:
                    conn.sendall(answer[i : i + 1])
                except OSError:
                    record["hung_up"] = time.monotonic()
                    return
                if _hung_up(conn, record, self.every):
                    return


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [
        v
        for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
        if k.strip().lower() == b"content-length"
    ]
    length = int(lengths[0]) if lengths else 0
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return body


def _hung_up(conn: socket.socket, record: dict, wait: float) -> bool:
    """Wait up to ``wait`` seconds for the client to close; note when it did."""
    ready, _, _ = select.select([conn], [], [], wait)
    if not ready:
        return False
    try:
        data = conn.recv(4096)
    except OSError:
        data = b""
    if data:
        return False  # the client said something (SMTP): not a hang-up
    record["hung_up"] = time.monotonic()
    return True


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    server = Trickler()
    yield server
    server.close()


def test_a_trickling_receiver_delays_no_other_and_ends_at_its_deadline(
    tmp_path, recorder, trickler
):
    """At the shipped defaults: every notice reaches the healthy receiver within 2 s while
    the other answers a byte every 2 s; that attempt ends at its 10 s deadline, counted
    failed, and is retried; the outbox figures are true while it is in flight."""
    _, alerting = make(
        tmp_path,
        f"""
[[receivers]]
name = "slow"
type = "webhook"
url = "{trickler.url}/hook"
[[receivers]]
name = "hook"
type = "webhook"
url = "{recorder.url}/hook"
""",
        extra="",
    )
    with running(alerting):
        due: list[float] = []
        for state in ({"ctl2": DOWN}, {"ctl2": DOWN, "dbd2": DOWN}, {}):
            due.append(time.monotonic())
            outage(alerting, **state)
            got = recorder.wait_for(len(due), "/hook")
            assert got[-1]["at"] - due[-1] < 2.0, f"notice {len(due)} late"
            if len(due) == 1:
                trickler.wait_for(1)
        assert [body(r)["status"] for r in got] == ["firing", "firing", "resolved"]
        first = trickler.requests[0]
        assert first["hung_up"] is None  # all of it while "slow" was still in flight

        def figures():
            s = alerting.status().receivers
            return (s["hook"].sent_total, s["hook"].queued, s["slow"].queued)

        wait_until(lambda: figures() == (3, 0, 3), what="the outbox figures")
        assert first["hung_up"] is None  # read during the attempt, not after it

        trickler.wait_for(2)  # the retry
        took = first["hung_up"] - first["at"]
        assert DEFAULT_DEADLINE - 1.5 <= took <= DEFAULT_DEADLINE + 3.0, took
        slow = [i for i in alerting.outbox.items() if i.receiver == "slow"][0]
        assert slow.attempts >= 1 and slow.last_error == "deadline exceeded (10 s)"
        assert alerting.status().receivers["slow"].failed_total >= 1
        assert body(trickler.requests[1])["status"] == "firing"  # the same notice again
        alerting.stop(timeout=0.5)  # the retry is in flight: cut it rather than wait


def test_test_alert_against_a_trickling_receiver_fails_at_its_deadline(
    tmp_path, recorder, trickler, capsys
):
    path = config_file(
        tmp_path,
        f"""
[[receivers]]
name = "slow"
type = "webhook"
url = "{trickler.url}/hook"
timeout_seconds = 2
[[receivers]]
name = "hook"
type = "webhook"
url = "{recorder.url}/hook"
""",
    )
    started = time.monotonic()
    assert main(["test-alert", "--config", str(path)]) == 1
    took = time.monotonic() - started
    assert took < 2 + 3.0, took
    out = capsys.readouterr()
    assert out.err.splitlines() == [
        "slurm-sla test-alert: slow: test alert firing: not delivered: deadline exceeded (2 s)"
    ]
    assert out.out.splitlines() == [
        "hook: test alert firing: delivered",
        "hook: test alert resolved: delivered",
    ]
    wait_until(lambda: trickler.requests[0]["hung_up"], 5.0, "the cut connection")
    wait_until(  # the abandoned send ended with its connection: nothing lingers
        lambda: not [t for t in threading.enumerate() if t.name.startswith("alert-attempt")],
        5.0,
        "the attempt threads to end",
    )


def test_a_2xx_whose_body_trickles_is_delivered_at_once(tmp_path, capsys):
    """The status says the receiver accepted the notice; retrying because its body is slow
    would page twice."""
    slow_body = Trickler(headers_at_once=True)
    try:
        path = config_file(
            tmp_path,
            f'[[receivers]]\nname = "hook"\ntype = "webhook"\nurl = "{slow_body.url}/hook"\n',
        )
        started = time.monotonic()
        assert main(["test-alert", "--config", str(path)]) == 0
        assert time.monotonic() - started < 2.0  # the first body byte comes 2 s late
        assert len(slow_body.requests) == 2
    finally:
        slow_body.close()


def test_an_smtp_server_trickling_its_greeting_ends_at_the_deadline(tmp_path, capsys):
    smtp = Trickler(b"220 slow.example.org ESMTP\r\n", greets=True)
    try:
        path = config_file(
            tmp_path,
            f"""
[[receivers]]
name = "admins"
type = "email"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "slurm-sla-monitor@example.org"
to = ["hpc@example.org"]
timeout_seconds = 2
""",
        )
        started = time.monotonic()
        assert main(["test-alert", "--config", str(path)]) == 1
        assert time.monotonic() - started < 2 + 3.0
        assert capsys.readouterr().err.strip() == (
            "slurm-sla test-alert: admins: test alert firing: not delivered: "
            "deadline exceeded (2 s)"
        )
        (conn,) = smtp.wait_for(1)
        wait_until(lambda: conn["hung_up"], 5.0, "the cut connection")
        assert conn["hung_up"] - conn["connected"] < 2 + 1.5
    finally:
        smtp.close()


def test_a_tls_handshake_trickled_byte_by_byte_is_cut_at_the_deadline(tmp_path, capsys):
    """Each byte comes sooner than a read timeout would fire: the attempt and its
    connection still end at the deadline, mid-handshake."""
    record = b"\x16\x03\x03\x00\x40" + b"\x00" * 64  # a handshake record, very slowly
    server = Trickler(record, every=0.3, greets=True)
    try:
        path = config_file(
            tmp_path,
            f'[[receivers]]\nname = "tls"\ntype = "webhook"\n'
            f'url = "https://127.0.0.1:{server.port}/hook"\ntimeout_seconds = 1\n',
        )
        assert main(["test-alert", "--config", str(path)]) == 1
        assert capsys.readouterr().err.strip().endswith("not delivered: deadline exceeded (1 s)")
        (conn,) = server.wait_for(1)
        wait_until(lambda: conn["hung_up"], 10.0, "the cut connection")
        assert conn["hung_up"] - conn["connected"] < 1 + 1.5
    finally:
        server.close()


def test_sigkill_during_a_slow_delivery_loses_nothing(tmp_path, trickler):
    config_file(
        tmp_path,
        f'[[receivers]]\nname = "slow"\ntype = "webhook"\nurl = "{trickler.url}/hook"\n',
    )
    script = (
        "import datetime as dt, time\n"
        "from monitor.alerting.service import Alerting\n"
        "from monitor.config import load_config\n"
        "from monitor.statestore import MIGRATIONS\n"
        "from monitor.store.db import Database\n"
        "from tests.support.alerting import DOWN, status\n"
        f"config = load_config({str(tmp_path / 'config.toml')!r})\n"
        "db = Database.in_dir(config.monitor.state_dir, migrations=MIGRATIONS)\n"
        "alerting = Alerting(config, db)\n"
        "alerting.start()\n"
        "now = dt.datetime.now(dt.UTC)\n"
        "alerting.on_round(status(ctl1=DOWN, ctl2=DOWN, since=now), [], now)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        trickler.wait_for(1)  # the attempt is in flight
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    config = load_config(tmp_path / "config.toml")
    db = Database.in_dir(config.monitor.state_dir, migrations=MIGRATIONS)
    (row,) = Outbox(db).items(PENDING)  # the attempt died with the process, the row did not
    assert row.attempts == 0
    trickler.every = 0  # the receiver is well again
    alerting = Alerting(config, db)
    with running(alerting):
        wait_until(lambda: alerting.outbox.items(SENT), what="the notice delivered")
        (row,) = alerting.outbox.items()
        assert row.notification.alerts[0].labels["alertname"] == "SlurmctldDown"
        assert body(trickler.requests[-1])["alerts"][0]["labels"]["alertname"] == "SlurmctldDown"


def test_promtool_accepts_the_alert_metrics():
    ensure_packages("prometheus", binary="promtool")
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=EXPOSITION_GOLDEN.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout == result.stderr == "", result.stderr

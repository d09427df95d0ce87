"""``email``: SMTP, one mail per notification, plain text and HTML alternatives.

```toml
[[receivers]]
name = "admins"
type = "email"
host = "smtp.example.org"
port = 587                    # default: 587 with starttls, 465 with tls, 25 with none
security = "starttls"         # starttls | tls | none
username = "monitor"
password_file = "/etc/slurm-sla-monitor/smtp-password"
from = "slurm-sla-monitor@example.org"
to = ["hpc-admins@example.org"]
# ca_file = "/etc/ssl/certs/internal-ca.pem"   # verify the server against this CA
```
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from monitor.alerting.model import AlertNotice, Notification
from monitor.alerting.providers.base import (
    Delivery,
    Problem,
    ProviderSpec,
    ReceiverOptions,
    Secret,
    SendContext,
    option,
    secret,
)
from monitor.alerting.providers.deadline import Deadline
from monitor.alerting.providers.render import lasted, title, when, where
from monitor.errors import DeliveryError

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class EmailOptions(ReceiverOptions):
    host: str = option("", required=True)
    port: int = option(0, minimum=0)
    security: str = option("starttls", choices=("starttls", "tls", "none"))
    username: str = option("")
    password: Secret = secret()
    sender: str = option("", key="from", required=True)
    to: tuple[str, ...] = option((), required=True)
    ca_file: str = option("")
    tls_verify: bool = option(True)
    subject_prefix: str = option("")
    max_per_minute: int = option(30, minimum=0)

    def validate(self) -> list[Problem]:
        problems = []
        if self.port > 65535:
            problems.append(("port", f"must be <= 65535, got {self.port}"))
        for i, address in enumerate((self.sender, *self.to)):
            if address and "@" not in email.utils.parseaddr(address)[1]:
                problems.append(("from" if i == 0 else "to", f"not an address: {address!r}"))
        if self.password and not self.username:
            problems.append(("username", "required when a password is set"))
        return problems

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


@dataclass(frozen=True)
class EmailContent:
    subject: str
    sender: str
    to: tuple[str, ...]
    text: str
    html: str


def _text_block(a: AlertNotice) -> str:
    state = f"RESOLVED after {lasted(a)}" if a.status == "resolved" else a.severity.upper()
    lines = [
        f"[{state}] {a.alertname}: {a.annotations.get('summary', '')}",
        f"  {a.annotations.get('description', '')}".rstrip(),
        f"  where: {where(a)}",
        f"  since: {when(a.starts_at)}",
    ]
    if a.ends_at is not None:
        lines.append(f"  until: {when(a.ends_at)}")
    if a.annotations.get("runbook_url"):
        lines.append(f"  runbook: {a.annotations['runbook_url']}")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))
    lines.append(f"  labels: {labels}")
    return "\n".join(line for line in lines if line.strip())


def _html_block(a: AlertNotice) -> str:
    e = html.escape
    color = "#2eb886" if a.status == "resolved" else "#d63232"
    state = f"RESOLVED after {lasted(a)}" if a.status == "resolved" else a.severity.upper()
    rows = [("where", where(a)), ("since", when(a.starts_at))]
    if a.ends_at is not None:
        rows.append(("until", when(a.ends_at)))
    rows.append(("labels", ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))))
    table = "".join(f'<tr><th align="left">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in rows)
    runbook = a.annotations.get("runbook_url")
    link = f'<p><a href="{e(runbook)}">Runbook</a></p>' if runbook else ""
    return (
        f'<div style="border-left:4px solid {color};padding-left:8px;margin-bottom:12px">'
        f"<h3>[{e(state)}] {e(a.alertname)}: {e(a.annotations.get('summary', ''))}</h3>"
        f"<p>{e(a.annotations.get('description', ''))}</p><table>{table}</table>{link}</div>"
    )


def build_payload(options: EmailOptions, n: Notification, now: dt.datetime) -> EmailContent:
    subject = (options.subject_prefix + " " if options.subject_prefix else "") + title(n)
    sections = []
    if n.firing:
        sections.append(("Firing", n.firing))
    if n.resolved:
        sections.append(("Resolved", n.resolved))
    text = [title(n), ""]
    body = [f"<h2>{html.escape(title(n))}</h2>"]
    for name, alerts in sections:
        text += [f"{name}:", *(_text_block(a) + "\n" for a in alerts)]
        body += [f"<h2>{name}</h2>", *(_html_block(a) for a in alerts)]
    if n.external_url:
        text.append(f"Sent by slurm-sla-monitor: {n.external_url}")
        body.append(f'<p>Sent by <a href="{html.escape(n.external_url)}">slurm-sla-monitor</a></p>')
    else:
        text.append("Sent by slurm-sla-monitor.")
        body.append("<p>Sent by slurm-sla-monitor.</p>")
    return EmailContent(
        subject,
        options.sender,
        options.to,
        "\n".join(text) + "\n",
        "<html><body>" + "\n".join(body) + "</body></html>\n",
    )


def message(content: EmailContent, now: dt.datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = content.subject
    msg["From"] = content.sender
    msg["To"] = ", ".join(content.to)
    msg["Date"] = email.utils.format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = email.utils.make_msgid(domain="slurm-sla-monitor")
    msg["X-Mailer"] = "slurm-sla-monitor"
    msg.set_content(content.text)
    msg.add_alternative(content.html, subtype="html")
    return msg


def _tls_context(options: EmailOptions) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=options.ca_file or None)
    if not options.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def send(options: EmailOptions, n: Notification, ctx: SendContext) -> Delivery:
    msg = message(build_payload(options, n, ctx.now), ctx.now)
    return deliver_message(options, msg, ctx.deadline_for(options))


def deliver_message(
    options: EmailOptions, msg: EmailMessage, deadline: Deadline | None = None
) -> Delivery:
    """Send a prepared message through this receiver's server (TLS, auth, secrets and the
    error wording in one place; the report mailer adds attachments first). The whole
    conversation is bounded by ``deadline`` (default: ``timeout_seconds`` from now)."""
    watchdog = None
    if deadline is None:  # called directly (the report mailer): expire it ourselves
        deadline = Deadline(options.timeout_seconds)
        watchdog = threading.Timer(options.timeout_seconds, deadline.expire)
        watchdog.daemon = True
        watchdog.start()
    try:
        _converse(options, msg, deadline)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        return Delivery(False, None, deadline.message) if deadline.expired else _failed(exc)
    finally:
        if watchdog is not None:
            watchdog.cancel()
    return Delivery(True, 250)


class _CuttableSMTP(smtplib.SMTP):
    """Its connection is watched by the deadline from the moment it exists, so a greeting
    or a TLS handshake trickled byte by byte is cut too. ``tls``: implicit TLS (what
    ``SMTP_SSL`` does), wrapped after the connection is watched."""

    def __init__(
        self,
        deadline: Deadline,
        host: str,
        port: int,
        timeout: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.deadline, self.tls = deadline, tls
        self.twins: list[socket.socket] = []
        try:
            super().__init__(host, port, timeout=timeout)  # connects, reads the greeting
        except BaseException:
            self.close()
            self.release()
            raise

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)
        self.twins.append(self.deadline.watch(sock))
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=host)
        return sock

    def release(self) -> None:
        for twin in self.twins:
            self.deadline.release(twin)


def _converse(options: EmailOptions, msg: EmailMessage, deadline: Deadline) -> None:
    password = options.password.resolve("password") if options.password else ""
    timeout = max(deadline.remaining(), 0.001)  # each read; the deadline cuts the whole
    tls = _tls_context(options) if options.security == "tls" else None
    smtp = _CuttableSMTP(deadline, options.host, options.effective_port, timeout, tls)
    try:
        if options.security == "starttls":
            smtp.starttls(context=_tls_context(options))
        if options.username:
            smtp.login(options.username, password)
        smtp.send_message(msg)
        smtp.quit()
    finally:
        smtp.close()
        smtp.release()


def _failed(exc: Exception) -> Delivery:
    if isinstance(exc, DeliveryError):
        return Delivery(False, None, str(exc))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Delivery(False, exc.smtp_code, f"SMTP authentication failed ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPResponseException):
        err = exc.smtp_error
        text = err.decode(errors="replace") if isinstance(err, bytes) else ""
        return Delivery(False, exc.smtp_code, f"SMTP {exc.smtp_code}: {text[:120]}".rstrip(": "))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return Delivery(False, None, "SMTP: every recipient refused")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Delivery(False, None, "SMTP: the server does not offer STARTTLS or AUTH")
    if isinstance(exc, ssl.SSLError):
        return Delivery(False, None, f"TLS failed ({exc.reason or type(exc).__name__})")
    if isinstance(exc, ConnectionRefusedError):
        return Delivery(False, None, "connection refused")
    return Delivery(False, None, f"SMTP failed ({type(exc).__name__})")


PROVIDER = ProviderSpec("email", EmailOptions, build_payload, send)

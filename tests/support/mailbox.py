"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts, for the
tests of mailed reports:

    with smtp_server() as (port, box):
        ...                      # mail to 127.0.0.1:port, security "none"
        box.messages             # email.message.EmailMessage, in order
"""

from __future__ import annotations

import contextlib
import email
import email.policy

import pytest

from tests.support.daemon import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


@contextlib.contextmanager
def smtp_server():
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    port = free_port()
    box = Mailbox()
    controller = controller_mod.Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()

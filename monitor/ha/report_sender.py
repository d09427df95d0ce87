"""Which replica of an HA pair mails the monthly report: the customer gets one mail, not one
per replica.

Every replica runs the report timer and writes its archive (the merged report is the same on
each); only ``[ha] report_sender`` mails it. Another replica mails it only when no peer URL
answers as the sender at that moment (killed, rebooting, cut off from this replica): one
mail while the sender is gone, none twice while it is there. Asking is the ledger exchange's
own request (``/ledger/export``, the peers' credentials), with a cursor in the future, so the
answer is the peer's name and a few small records; a peer that answers with an error, or as
another replica, does not count as the sender.

Whoever mails leaves a mark on the Alertmanager cluster (``monitor.ha.report_mark``), and no
replica mails a month that carries one: a sender back from an outage (its timer catching up
at boot) does not mail what its peer mailed in its stead.

Not covered: a sender that answers but fails to mail (SMTP down) leaves the month unmailed,
with its report unit failed; and with every Alertmanager unreachable there is no mark, so a
sender catching up mails again what its peer mailed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.errors import MonitorError
from monitor.ha.peer_auth import PeerAuth, peer_auth
from monitor.ha.report_mark import MailedMark, find_mark
from monitor.ha.settings import HaSettings

# A cursor past any record (µs, year 2286): the export then carries no heartbeat or transition
FUTURE_US = 10**19 // 1000
ASK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class MailDecision:
    mail: bool
    why: str  # printed by `report --archive`


def decide(
    ha: HaSettings | None,
    name_at: Callable[[str], str | None],
    mailed: MailedMark | None = None,
    month: str = "",
) -> MailDecision:
    """Pure: whether this replica mails. ``name_at(url)``: the replica answering at a peer
    URL, None when none answers; ``mailed``: the mark a replica left when it mailed the
    report of ``month``."""
    if ha is None:
        return MailDecision(True, "single replica")
    if mailed is not None:
        return MailDecision(
            False,
            f"not mailed: replica {mailed.replica} mailed the {month} report at {mailed.at} "
            "(its mark on the Alertmanagers)",
        )
    sender = ha.report_sender
    if not sender:  # check-config requires it with a mail_receiver; mailing twice is worse
        return MailDecision(False, "not mailed: [ha] report_sender names no replica")
    if ha.replica == sender:
        return MailDecision(True, f"replica {sender} is [ha] report_sender")
    for url in ha.peers:
        if name_at(url) == sender:
            return MailDecision(False, f"not mailed: replica {sender} ({url}) answers and mails it")
    return MailDecision(
        True,
        f"replica {sender} ([ha] report_sender) answers at no peer URL: "
        f"replica {ha.replica} mails instead",
    )


def replica_at(url: str, credentials: PeerAuth, timeout: float = ASK_TIMEOUT_SECONDS) -> str | None:
    """The name of the replica answering at ``url`` (its ledger export), None if none."""
    import requests  # the report's mail path only: reading the config must not load it

    from monitor.ledger.exchange import PATH, parse_export

    try:
        answer = requests.get(
            url.rstrip("/") + PATH,
            params={"since": FUTURE_US},
            auth=credentials.auth,
            verify=credentials.verify,
            timeout=timeout,
        )
        if answer.status_code != 200:
            return None
        return parse_export(answer.content).replica
    except (requests.RequestException, MonitorError):
        return None


def should_mail(ha: HaSettings | None, month: str) -> MailDecision:
    """``decide`` with the Alertmanagers asked for a mark and the peers for their names."""
    if ha is None:
        return decide(ha, lambda url: None)
    mailed = find_mark(ha.alertmanagers, month)
    if mailed is not None or ha.replica == ha.report_sender:
        return decide(ha, lambda url: None, mailed, month)
    try:
        credentials = peer_auth(ha)
    except MonitorError as exc:  # cannot ask: mailing twice beats not mailing at all
        credentials = PeerAuth(None, True, f"none ({exc})")
    return decide(ha, lambda url: replica_at(url, credentials), None, month)

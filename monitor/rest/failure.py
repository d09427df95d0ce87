"""What went wrong on the way to slurmrestd, in a few words, and what is wrong with a token.

requests wraps the cause in layers ("HTTPSConnectionPool(host=..., port=...): Max retries
exceeded with url: ... (Caused by SSLError(SSLCertVerificationError(1, '[SSL: ..."), and
cut to fit a message the cause is the part that goes. The cause is found in the chain
instead and named ("TLS: certificate has expired"), so one line tells the operator what
to fix. A header error's text would quote the header, that is the token: never used.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

# A JWT is three base64url parts joined by dots; any visible ASCII is let through (Slurm
# checks the token), but not a second line or a byte no HTTP header can carry.
_VISIBLE = frozenset(chr(c) for c in range(0x21, 0x7F))


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent as a header, in words that do not quote it."""
    if "\n" in token or "\r" in token:
        return f"holds {len(token.splitlines())} lines, a token is one line"
    if not set(token) <= _VISIBLE:
        return "holds spaces, control characters or non-ASCII bytes, which a token never has"
    return None


class LookupTimedOut(OSError):
    """A host name not resolved within the request's budget (raised by the cutoff's
    resolver, passed on by urllib3 as a connect timeout)."""


def lookup_timeout(exc: BaseException) -> str | None:
    """The words of a name lookup cut at the budget, when that is what ``exc`` came from."""
    return next((e.strerror for e in _chain(exc) if isinstance(e, LookupTimedOut)), None)


def failure_words(exc: BaseException, ca_file: Path | None) -> str:
    """The cause of a failed request, e.g. "connection refused", "TLS: certificate has
    expired (CAs: ca_file /etc/ssl/acme.pem)"."""
    chain = list(_chain(exc))
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            cas = f"ca_file {ca_file}" if ca_file else "the system's; set ca_file"
            return f"TLS: {e.verify_message or 'certificate not accepted'} (CAs: {cas})"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            hint = " (plain HTTP there? then the URL is http://)" if _plain_http(e) else ""
            return f"TLS handshake failed: {e.reason or e.__class__.__name__}{hint}"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return "host name not resolved"
        if isinstance(e, ConnectionResetError):
            return "connection reset"
        if isinstance(e, http.client.RemoteDisconnected):
            return "connection closed without an answer"
        if isinstance(e, http.client.IncompleteRead):
            return "the answer was cut short"
        if isinstance(e, http.client.HTTPException):
            return f"not an HTTP answer ({e.__class__.__name__})"
        if isinstance(e, OSError) and "CA certificate bundle" in str(e):
            return f"ca_file {ca_file}: cannot read it"
        if isinstance(e, OSError) and e.strerror:
            return e.strerror.lower()
    text = str(exc)
    for marker in ("prematurely", "IncompleteRead", "Connection broken"):
        if marker in text:
            return "the answer was cut short"
    return f"request failed ({exc.__class__.__name__})"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and the exceptions urllib3 keeps as arguments
    (``MaxRetryError.reason``), each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        links = (e.__cause__, e.__context__, getattr(e, "reason", None))  # ssl's is a str
        todo += [x for x in links if isinstance(x, BaseException)]
        todo += [a for a in e.args if isinstance(a, BaseException)]


def _plain_http(e: ssl.SSLError) -> bool:
    return "WRONG_VERSION_NUMBER" in str(e) or "record layer failure" in str(e)

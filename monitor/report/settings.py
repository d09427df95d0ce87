"""The ``[report]`` table: where ``slurm-sla report --archive`` (and the monthly timer)
writes, which formats, and whom it mails them to. Read with the config's :class:`Reader`,
so every error carries its key path and line.

```toml
[report]
directory = "/var/lib/slurm-sla-monitor/reports"   # default: <state_dir>/reports
formats = ["md", "html", "json", "csv"]             # pdf needs the `pdf` extra
mail_receiver = "admins"                            # an `email` receiver; absent: no mail
mail_to = ["sla@example.org"]                       # default: the receiver's `to`
```
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config_schema import KeyPath, Reader

FORMATS = ("md", "html", "json", "csv", "pdf")
DEFAULT_FORMATS = ("md", "html", "json", "csv")


@dataclass(frozen=True)
class ReportSettings:
    directory: Path | None = None  # None: <state_dir>/reports
    formats: tuple[str, ...] = DEFAULT_FORMATS
    mail_receiver: str = ""  # the name of an `email` receiver; empty: no mail
    mail_to: tuple[str, ...] = ()  # empty: the receiver's own `to`


def read_report(
    r: Reader, raw: Any, p: KeyPath, *, receivers: Iterable[tuple[str, str]] = ()
) -> ReportSettings:
    """``receivers``: (name, type) of every configured receiver, to check ``mail_receiver``."""
    d = r.table(raw, p, ("directory", "formats", "mail_receiver", "mail_to"))
    formats = r.strings(d, p, "formats", DEFAULT_FORMATS, choices=FORMATS) or DEFAULT_FORMATS
    if "formats" in d and not formats:
        r.error((*p, "formats"), "must not be empty")
    receiver = r.string(d, p, "mail_receiver", "") or ""
    types = dict(receivers)
    if receiver and receiver not in types:
        r.error((*p, "mail_receiver"), f"no receiver named {receiver!r}")
    elif receiver and types[receiver] != "email":
        r.error((*p, "mail_receiver"), f"receiver {receiver!r} is not of type email")
    mail_to = r.strings(d, p, "mail_to", ()) or ()
    for i, address in enumerate(mail_to):
        if "@" not in email.utils.parseaddr(address)[1]:
            r.error((*p, "mail_to", i), f"not an address: {address!r}")
    if mail_to and not receiver:
        r.error((*p, "mail_to"), "needs mail_receiver (the email receiver that sends it)")
    return ReportSettings(
        directory=r.path(d, p, "directory", None),
        formats=tuple(dict.fromkeys(formats)),
        mail_receiver=receiver,
        mail_to=tuple(mail_to),
    )

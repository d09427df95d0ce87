"""Where the credentials for pulling the peers' ledgers come from, and check-config's look
at the files ``[ha]`` names for them.

Precedence, whole credential from the first source that names a user: the command line
(``slurm-sla ledger pull --user --password-file``), then the environment
(``SLURM_SLA_PEER_USER`` with ``SLURM_SLA_PEER_PASSWORD_FILE`` or
``SLURM_SLA_PEER_PASSWORD``), then ``[ha] peer_user`` / ``peer_password_file``. The more
specific source wins, as with most tools: the config file is the same on every replica
(often in version control), while the environment is this host's or this run's (a systemd
credential, a one-off pull with another account). A user and a password never come from two
sources. The CA bundle: ``--ca-file``, else ``[ha] peer_ca_file``, else the system's.

The password file is read at each pull, so a rotated password needs no restart.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.config_schema import KeyPath
from monitor.errors import MonitorError
from monitor.ha.settings import HaSettings

USER_ENV = "SLURM_SLA_PEER_USER"
PASSWORD_FILE_ENV = "SLURM_SLA_PEER_PASSWORD_FILE"
PASSWORD_ENV = "SLURM_SLA_PEER_PASSWORD"


@dataclass(frozen=True)
class PeerAuth:
    auth: tuple[str, str] | None  # basic auth; None: none sent
    verify: bool | str  # requests' verify: True (system CAs) or a CA bundle's path
    source: str  # "command line" | "environment" | "config" | "none": logged, never secret


def peer_auth(
    ha: HaSettings | None,
    environ: Mapping[str, str] = os.environ,
    *,
    user: str | None = None,
    password_file: Path | None = None,
    ca_file: Path | None = None,
) -> PeerAuth:
    """The credential to pull with (``user``/``password_file``/``ca_file``: the command
    line's). MonitorError naming the setting when a password file cannot be read."""
    ca = ca_file or (ha.peer_ca_file if ha else None)
    verify: bool | str = str(ca) if ca else True
    if user is not None:
        if password_file is not None:
            return PeerAuth((user, _read(password_file, "--password-file")), verify, "command line")
        return PeerAuth((user, environ.get(PASSWORD_ENV, "")), verify, "command line")
    if environ.get(USER_ENV):
        env_user = environ[USER_ENV]
        path = environ.get(PASSWORD_FILE_ENV)
        if path:
            password = _read(Path(path), f"{PASSWORD_FILE_ENV}={path}")
        else:
            password = environ.get(PASSWORD_ENV, "")
        return PeerAuth((env_user, password), verify, "environment")
    if ha is not None and ha.peer_user and ha.peer_password_file is not None:
        password = _read(ha.peer_password_file, f"[ha] peer_password_file {ha.peer_password_file}")
        return PeerAuth((ha.peer_user, password), verify, "config")
    return PeerAuth(None, verify, "none")


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text().rstrip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise MonitorError(f"{what}: {reason}") from None


def file_problems(ha: HaSettings | None) -> list[tuple[KeyPath, str]]:
    """check-config: the ``[ha]`` credential files this process cannot read, and a password
    file any user of the host can read (a peer's password opens its ledger and /metrics)."""
    if ha is None:
        return []
    found: list[tuple[KeyPath, str]] = []
    files = (("peer_password_file", ha.peer_password_file), ("peer_ca_file", ha.peer_ca_file))
    for key, path in files:
        if path is None:
            continue
        try:
            mode = path.stat().st_mode
            # only a regular file is opened: a FIFO would hold check-config
            empty = stat.S_ISREG(mode) and not path.read_bytes()[:1]
        except OSError as exc:
            found.append((("ha", key), f"{path}: cannot read: {exc.strerror or exc}"))
            continue
        if not stat.S_ISREG(mode):
            found.append((("ha", key), f"{path}: not a regular file"))
        elif key == "peer_password_file" and mode & stat.S_IROTH:
            found.append(
                (
                    ("ha", key),
                    f"{path}: readable by every user (mode {stat.S_IMODE(mode):04o}): "
                    "chgrp slurm-sla it and chmod 0640",
                )
            )
        elif empty:
            found.append((("ha", key), f"{path}: empty"))
    return found

"""How one cluster's slurmrestd is reached (``backend = "rest"``)."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.boundedread import read_bytes
from monitor.config_schema import KeyPath, Reader


@dataclass(frozen=True)
class RestSettings:
    urls: tuple[str, ...]  # tried in order (a slurmrestd pair behind no load balancer)
    user: str | None = None  # X-SLURM-USER-NAME; None: the token's own user
    token_file: Path | None = None  # re-read when it changes (tokens are rotated)
    token_env: str | None = None
    ca_file: Path | None = None
    insecure_skip_verify: bool = False
    timeout_seconds: float = 5.0  # per request


# The cluster keys of the REST backend (besides `backend = "rest"`).
REST_KEYS = (
    "url",
    "urls",
    "user",
    "token_file",
    "token_env",
    "ca_file",
    "insecure_skip_verify",
    "request_timeout_seconds",
)


def read_rest(r: Reader, d: dict[str, Any], p: KeyPath, backend: str) -> RestSettings | None:
    """A cluster's slurmrestd settings; every problem recorded in ``r``. REST keys on a
    CLI cluster are an error too: they would be silently unused."""
    present = [k for k in REST_KEYS if k in d]
    if backend != "rest":
        for key in present:
            r.error((*p, key), 'only for backend = "rest"')
        return None
    urls = _urls(r, d, p)
    token_file = r.path(d, p, "token_file", None)
    token_env = r.string(d, p, "token_env", None)
    if token_file and token_env:
        r.error((*p, "token_env"), "give token_file or token_env, not both")
    insecure = r.boolean(d, p, "insecure_skip_verify", False)
    ca_file = r.path(d, p, "ca_file", None)
    if insecure and ca_file:
        r.error((*p, "ca_file"), "pointless with insecure_skip_verify = true")
    return RestSettings(
        urls=urls,
        user=_user(r, d, p),
        token_file=token_file,
        token_env=token_env,
        ca_file=ca_file,
        insecure_skip_verify=insecure,
        timeout_seconds=r.seconds(d, p, "request_timeout_seconds", 5.0, above=0, maximum=120),
    )


def _user(r: Reader, d: dict[str, Any], p: KeyPath) -> str | None:
    """The X-SLURM-USER-NAME header: a user name is one word of visible ASCII (anything
    else would be refused by the HTTP library at every request, or split the header)."""
    user = r.string(d, p, "user", None)
    if user is not None and not (user.isascii() and user.isprintable() and user.split() == [user]):
        r.error((*p, "user"), f"expected a user name, got {user!r}")
    return user


def _urls(r: Reader, d: dict[str, Any], p: KeyPath) -> tuple[str, ...]:
    if "url" in d and "urls" in d:
        r.error((*p, "urls"), "give url or urls, not both")
    if "urls" in d:
        urls = r.strings(d, p, "urls", ()) or ()
        key = "urls"
    else:
        one = r.string(d, p, "url", None)
        urls, key = ((one,) if one else ()), "url"
    if not urls:
        r.error((*p, key), 'required with backend = "rest" (e.g. "http://rest1:6820")')
    for url in urls:
        problem = url_problem(url)
        if problem:  # the URL is not repeated when it holds a password
            r.error((*p, key), problem if "credentials" in problem else f"{problem}, got {url!r}")
    return tuple(u.rstrip("/") for u in urls)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a slurmrestd base URL. A query or fragment would swallow the
    API paths appended to it; credentials in it would be printed in every message that
    names the URL (the token goes in token_file)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return "expected an http:// or https:// URL"
    if parts.username is not None or parts.password is not None:
        return "no credentials in the URL (token_file or token_env carries the token)"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "no query or fragment (the API paths are appended to the URL)"
    return None


def file_problems(rest: RestSettings) -> list[tuple[str, str]]:
    """check-config: (key, message) for a token file this process cannot read, that is
    empty, not a regular file or readable by every user (a token opens the cluster to
    anyone holding it), and a ca_file it cannot read."""
    found: list[tuple[str, str]] = []
    for key, path in (("token_file", rest.token_file), ("ca_file", rest.ca_file)):
        if path is None:
            continue
        try:
            mode = path.stat().st_mode
            # only a regular file is opened: a FIFO would hold check-config
            empty = stat.S_ISREG(mode) and not read_bytes(path).strip()
        except OSError as exc:
            found.append((key, f"{path}: cannot read: {exc.strerror or exc}"))
            continue
        if not stat.S_ISREG(mode):
            found.append((key, f"{path}: not a regular file"))
        elif key == "token_file" and mode & stat.S_IROTH:
            found.append(
                (key, f"{path}: readable by every user (mode {stat.S_IMODE(mode):04o}): chmod 0600")
            )
        elif empty:
            found.append((key, f"{path}: empty"))
    return found

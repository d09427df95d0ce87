"""How one cluster's slurmrestd is reached (``backend = "rest"``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")


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
        user=r.string(d, p, "user", None),
        token_file=token_file,
        token_env=token_env,
        ca_file=ca_file,
        insecure_skip_verify=insecure,
        timeout_seconds=r.seconds(d, p, "request_timeout_seconds", 5.0, above=0, maximum=120),
    )


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
        if not _URL.fullmatch(url):
            r.error((*p, key), f"expected an http:// or https:// URL, got {url!r}")
    return tuple(u.rstrip("/") for u in urls)

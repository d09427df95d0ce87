"""One cluster's slurmrestd: a pooled HTTP session, the JWT, the URLs in order, and the
newest data_parser version both sides know.

The token file is re-read when it changes (sites rotate tokens without restarting their
monitors). URLs are tried in order, starting with the last one that answered. The
versions slurmrestd offers come from its OpenAPI document, read once per answering URL;
when that cannot be read, the known versions are tried newest first and the first that is
not 404 is kept.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import requests
import structlog

from monitor.boundedread import read_bytes
from monitor.reasons import Reason
from monitor.rest.answer import RestAnswer, judge, one_line
from monitor.rest.cutoff import cutoff_at, cuttable_session
from monitor.rest.failure import failure_words, lookup_timeout, token_problem
from monitor.rest.settings import RestSettings
from monitor.rest.token import expired, token_user

log = structlog.get_logger("slurm_sla_monitor")

# data_parser versions, newest first: v0.0.39-v0.0.45 (23.02-26.05) and 22.05's
# v0.0.36-v0.0.38 (openapi/v0.0.3x plugins, same paths).
KNOWN_VERSIONS = tuple(f"v0.0.{n}" for n in range(45, 35, -1))
_PATH_VERSION = re.compile(r"^/(slurm|slurmdb)/(v0\.0\.\d+)/")
MAX_BODY_BYTES = 16 * 1024 * 1024
# proxies, TLS verification, ~/.netrc credentials: what requests would read for a URL
_Environment = tuple[dict[str, str], bool | str, tuple[str, str] | None]
# Values (counted as ``,``, ``{`` and ``[``) an answer may hold before it is parsed: 16 MiB
# of ``[{},{},...]`` is 5 million dicts, over a gigabyte once parsed. Slurm's largest
# answer here (diag, every RPC type and user) holds a few thousand.
MAX_JSON_VALUES = 200_000


class RestClient:
    def __init__(
        self,
        settings: RestSettings,
        *,
        session: requests.Session | None = None,
        environ: Mapping[str, str] = os.environ,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._wall_clock = wall_clock  # a Unix time, for the token's expiry
        # every request bounded as a whole (connect, TLS, headers, body), not per read
        self._session = cuttable_session(session)
        # What requests reads from the environment (proxies, REQUESTS_CA_BUNDLE, ~/.netrc)
        # is read once per URL (``_environment``), not before every request: at 1,000
        # clusters that per-request lookup was a third of the daemon's CPU.
        self._session.trust_env = False
        self._env: dict[str, _Environment] = {}
        self._environ = environ
        self._lock = threading.Lock()
        self._preferred = 0  # index into settings.urls of the last URL that answered
        self._versions: dict[tuple[str, str], str] = {}  # (url, "slurm"|"slurmdb") -> vX
        self._token: tuple[tuple[int, int, int], str] | None = None  # (file's key, token)
        if settings.insecure_skip_verify:
            log.warning(
                "rest.tls_not_verified",
                urls=list(settings.urls),
                why="insecure_skip_verify = true: anyone on the path can impersonate slurmrestd",
            )
            requests.packages.urllib3.disable_warnings()  # type: ignore[attr-defined]

    # -- requests ------------------------------------------------------------------------
    def get(self, api: str, endpoint: str, timeout: float | None = None) -> RestAnswer:
        """GET ``/{api}/{version}/{endpoint}`` from the first URL that answers."""
        token, why = self._read_token()
        if not why and token:
            why = expired(token, self._wall_clock())
        if why:
            return RestAnswer(self.settings.urls[0], None, "", Reason.AUTH, why)
        # request_timeout_seconds bounds connecting and the quick calls; a probe that must
        # outwait Slurm (ping: MessageTimeout per controller) brings its own, longer budget.
        # The budget bounds the whole call, every URL and every request included.
        end = time.monotonic() + max(timeout or 0.0, self.settings.timeout_seconds)
        answer = RestAnswer(self.settings.urls[0], None, "", Reason.COMMAND_FAILED, "no URL")
        order = self._order()
        for index in order:
            if time.monotonic() >= end:
                break  # the budget went to the URLs before: the next call starts further on
            base = self.settings.urls[index].rstrip("/")
            version, failed = self._version(base, api, token, end)
            if version is None:
                answer = failed
                if answer.status is None:
                    continue  # slurmrestd not reachable there: the next URL
                return answer
            answer = self._request(base, f"/{api}/{version}/{endpoint}", token, end)
            if answer.status == 404:
                # The version it offered (or served before) is not served now: an OpenAPI
                # document that lists what it does not serve, or slurmrestd replaced.
                other = self._rediscover(base, api, version, token, end)
                if other is not None:
                    answer = self._request(base, f"/{api}/{other}/{endpoint}", token, end)
            if answer.status is None:
                continue
            with self._lock:
                self._preferred = index
            return answer
        if len(order) > 1:
            # None answered: the next call starts with the next URL, so a first URL that
            # hangs costs one call's budget, not every call's.
            with self._lock:
                self._preferred = (order[0] + 1) % len(order)
        return answer

    def _order(self) -> list[int]:
        with self._lock:
            first = self._preferred
        n = len(self.settings.urls)
        return [(first + i) % n for i in range(n)]

    def _quick(self, end: float) -> float:
        """The end of a quick call (versions): request_timeout_seconds, within ``end``."""
        return min(end, time.monotonic() + self.settings.timeout_seconds)

    def _request(self, base: str, path: str, token: str | None, end: float) -> RestAnswer:
        """One GET, over by ``end`` (monotonic) whatever the server does."""
        url = base + path
        headers = {"Accept": "application/json"}
        if token:
            headers["X-SLURM-USER-TOKEN"] = token
        # 22.05's slurmrestd refuses a token without the user's name (HTTP 401); newer
        # ones take it from the token. Without `user` the token's own user is named.
        user = self.settings.user or (token_user(token) if token else None)
        if user:
            headers["X-SLURM-USER-NAME"] = user
        t0 = time.monotonic()
        left = max(end - t0, 0.001)
        location = None
        with cutoff_at(end) as cutoff:
            try:
                proxies, verify, netrc = self._environment(base)
                response = self._session.get(
                    url,
                    headers=headers,
                    # connecting is quick or never: only the answer may take the long budget
                    timeout=(min(self.settings.timeout_seconds, left), left),
                    verify=verify,
                    proxies=proxies,
                    auth=netrc,
                    stream=True,
                    allow_redirects=False,  # the token must not follow a redirect elsewhere
                )
                try:
                    body = response.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
                finally:
                    cutoff.disarm()  # before the connection can go back to the pool
                    response.close()
                status, location = response.status_code, response.headers.get("Location")
            except Exception as exc:  # noqa: BLE001 - requests, urllib3, ssl, OS: all in words
                seconds = time.monotonic() - t0
                if cutoff.cut or isinstance(exc, requests.Timeout):
                    why = lookup_timeout(exc) or f"no complete answer within {end - t0:.3g} s"
                    return _unreachable(url, why, seconds, Reason.TIMEOUT)
                return _unreachable(url, failure_words(exc, self.settings.ca_file), seconds)
        seconds = time.monotonic() - t0
        if 300 <= status < 400:
            where = f" to {one_line(location[:200])}" if location else ""
            return RestAnswer(
                url, status, "", Reason.COMMAND_FAILED,
                f"slurmrestd at {url} redirected{where} (HTTP {status}): not followed, the "
                "token would go along; give the final URL in the config",
                seconds,
            )  # fmt: skip
        if len(body) > MAX_BODY_BYTES:
            return RestAnswer(
                url, status, "", Reason.PARSE, f"{url}: answer over {MAX_BODY_BYTES} bytes", seconds
            )
        values = body.count(b",") + body.count(b"{") + body.count(b"[")
        if values > MAX_JSON_VALUES:
            why = f"{url}: answer of about {values} values, over {MAX_JSON_VALUES}: not read"
            return RestAnswer(url, status, "", Reason.PARSE, why, seconds)
        return judge(url, status, body.decode("utf-8", errors="replace"), seconds)

    def _environment(self, base: str) -> _Environment:
        """The proxies, TLS verification and ~/.netrc credentials a plain requests session
        would use for ``base`` (it reads them from the environment), read once."""
        with self._lock:
            found = self._env.get(base)
        if found is None:
            url = base + "/"
            with requests.Session() as plain:
                merged = plain.merge_environment_settings(url, {}, None, self._verify(), None)
            found = (merged["proxies"], merged["verify"], requests.utils.get_netrc_auth(url))
            with self._lock:
                self._env[base] = found
        return found

    def _verify(self) -> bool | str:
        if self.settings.insecure_skip_verify:
            return False
        return str(self.settings.ca_file) if self.settings.ca_file else True

    # -- versions ------------------------------------------------------------------------
    def _version(
        self, base: str, api: str, token: str | None, end: float
    ) -> tuple[str, None] | tuple[None, RestAnswer]:
        """The version to use at ``base``, or the answer that says why there is none (not
        reachable, token rejected, no version this monitor knows). Only a found version
        is remembered: a rejected token is asked about again."""
        with self._lock:
            known = self._versions.get((base, api))
        if known:
            return known, None
        answer = self._request(base, "/openapi/v3", token, self._quick(end))
        if answer.status is None or answer.reason is Reason.AUTH:
            return None, answer
        offered: set[str] = set()
        paths = json.loads(answer.text).get("paths") if answer.ok else None
        if isinstance(paths, dict):  # anything else is no document: versions are tried
            for path in paths:
                m = _PATH_VERSION.match(str(path))
                if m and m.group(1) == api:
                    offered.add(m.group(2))
        if not offered:
            found = self._probe_versions(base, api, token, end)
            if isinstance(found, RestAnswer):
                return None, found
            offered = found
        newest = next((v for v in KNOWN_VERSIONS if v in offered), None)
        if newest is None:
            return None, RestAnswer(
                base,
                answer.status,
                "",
                Reason.COMMAND_FAILED,
                f"slurmrestd at {base} offers no /{api}/ version this monitor knows "
                f"({KNOWN_VERSIONS[-1]}-{KNOWN_VERSIONS[0]})",
            )
        with self._lock:
            self._versions[(base, api)] = newest
        return newest, None

    def _rediscover(
        self, base: str, api: str, failed: str, token: str | None, end: float
    ) -> str | None:
        """``failed`` answered 404: forget it, and the version to use instead, if any."""
        with self._lock:
            self._versions.pop((base, api), None)
        found = self._probe_versions(base, api, token, end)
        newest = next((v for v in KNOWN_VERSIONS if isinstance(found, set) and v in found), None)
        if newest is None or newest == failed:
            return None
        with self._lock:
            self._versions[(base, api)] = newest
        return newest

    def _probe_versions(
        self, base: str, api: str, token: str | None, end: float
    ) -> set[str] | RestAnswer:
        """No OpenAPI document: the first known version whose ping is not 404."""
        endpoint = "ping" if api == "slurm" else "diag"
        end = self._quick(end)  # every try together: the real call needs its budget
        for version in KNOWN_VERSIONS:
            answer = self._request(base, f"/{api}/{version}/{endpoint}", token, end)
            if answer.status is None or answer.reason is Reason.AUTH:
                return answer
            if answer.status != 404:
                return {version}
        return set()

    # -- the token -----------------------------------------------------------------------
    def _read_token(self) -> tuple[str | None, str]:
        s = self.settings
        if s.token_env:
            token = self._environ.get(s.token_env, "").strip()
            if not token:
                return None, f"token_env {s.token_env} is not set"
            problem = token_problem(token)
            return (None, f"token_env {s.token_env}: {problem}") if problem else (token, "")
        if s.token_file is None:
            return None, ""
        return self._token_from(s.token_file)

    def _token_from(self, path: Path) -> tuple[str | None, str]:
        try:
            st = path.stat()
            # the inode too: a token renamed into place may keep the old one's size and mtime
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            with self._lock:
                if self._token is not None and self._token[0] == key:
                    return self._token[1], ""
            if not stat.S_ISREG(st.st_mode):  # a FIFO would hold the probe, a device fill it
                return None, f"token_file {path}: not a regular file"
            token = read_bytes(path).decode("utf-8", errors="replace").strip()
        except OSError as exc:
            return None, f"token_file {path}: {exc.strerror or exc}"
        if token.startswith("SLURM_JWT="):
            token = token.removeprefix("SLURM_JWT=")  # `scontrol token` prints it so
        if not token:
            return None, f"token_file {path} is empty"
        problem = token_problem(token)
        if problem:
            return None, f"token_file {path}: {problem}"
        with self._lock:
            self._token = (key, token)
        return token, ""


def _unreachable(
    url: str, why: str, seconds: float, reason: Reason = Reason.COMMAND_FAILED
) -> RestAnswer:
    return RestAnswer(url, None, "", reason, f"slurmrestd unreachable at {url}: {why}", seconds)

"""``Authorization: Basic`` checked against the web config's bcrypt hashes.

Two properties matter more than speed:

- The cost does not depend on whether the user exists: an unknown name is checked against a
  dummy hash of the same bcrypt cost, so response times do not list the valid user names.
- Every malformed credential is a plain "no": bad base64, no colon, non-UTF-8, a password
  bcrypt refuses (over 72 bytes). Nothing here raises.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from enum import Enum

import bcrypt

_MAX_PASSWORD = 72  # bcrypt's limit; longer passwords are refused, never truncated to match
_DUMMY_PASSWORD = b"slurm-sla-monitor: no such user"


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"
    VERIFY = "verify"  # needs bcrypt: slow on purpose, so run it off the event loop


class BasicAuth:
    """bcrypt is slow on purpose, so a verified (user, password) pair is remembered by its
    SHA-256, as exporter-toolkit does: a scrape every few seconds then costs one hash. A new
    instance (a reload) forgets them, so a rotated password stops working at once."""

    def __init__(self, users: dict[str, bytes]) -> None:
        self._users = dict(users)
        self._good: set[bytes] = set()
        self._lock = threading.Lock()
        self._dummy = _dummy_hash(self._users)

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    def quick(self, header: str | None) -> Decision:
        """What can be decided without bcrypt: no auth configured, a header that is not
        Basic credentials at all, or a pair verified before."""
        if not self._users:
            return Decision.ALLOW
        credentials = _decode(header)
        if credentials is None:
            return Decision.DENY
        user, password = credentials
        key = self._key(self._users.get(user, self._dummy), password)
        with self._lock:
            if any(hmac.compare_digest(key, good) for good in self._good):
                return Decision.ALLOW
        return Decision.VERIFY

    def check(self, header: str | None) -> bool:
        """The full check: ``quick``, then bcrypt at the same cost for known and unknown
        users alike."""
        decision = self.quick(header)
        if decision is not Decision.VERIFY:
            return decision is Decision.ALLOW
        credentials = _decode(header)
        assert credentials is not None  # quick() said VERIFY
        user, password = credentials
        hashed = self._users.get(user)
        try:
            # Always run bcrypt, on at most 72 bytes, so every refusal costs the same.
            matched = bcrypt.checkpw(password[:_MAX_PASSWORD], hashed or self._dummy)
        except ValueError:  # a hash bcrypt cannot read (the web config validates them)
            matched = False
        if not matched or hashed is None or len(password) > _MAX_PASSWORD:
            return False
        with self._lock:
            self._good.add(self._key(hashed, password))
        return True

    @staticmethod
    def _key(hashed: bytes, password: bytes) -> bytes:
        return hashlib.sha256(hashed + b"\0" + password).digest()


def _decode(header: str | None) -> tuple[str, bytes] | None:
    """``(user, password)`` from an Authorization header, or None for anything malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        user_bytes, colon, password = raw.partition(b":")
        user = user_bytes.decode("utf-8")
        password.decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    if not colon:
        return None
    return user, password


def _dummy_hash(users: dict[str, bytes]) -> bytes:
    """A hash at the highest cost in use: an unknown user then costs what a known one does
    (with one cost for every user, as htpasswd makes them, exactly the same)."""
    if not users:
        return b""
    costs = [int(h[4:6]) for h in users.values() if h[4:6].isdigit()]
    rounds = min(max(costs, default=10), 31)
    return bcrypt.hashpw(_DUMMY_PASSWORD, bcrypt.gensalt(max(rounds, 4)))

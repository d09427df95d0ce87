"""The one small interface every receiver module implements (after gatus's
``alerting/provider/<name>``): a frozen options dataclass with ``validate()``, a pure
``build_payload(options, notification, now)`` and a thin ``send``. Policy (what to say, and
when) is the engine's; a provider only says it.

Options are declared once, as dataclass fields, and read generically: the field's type
picks the TOML type, unknown keys are errors, and a :class:`Secret` field ``url`` may be
given as ``url``, ``url_file`` (read at send time, so rotating it needs no restart) or
``url_env``. Secrets are never put in logs or error messages.
"""

from __future__ import annotations

import datetime as dt
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from monitor.alerting.model import Notification
from monitor.alerting.providers.deadline import Deadline
from monitor.boundedread import read_bytes
from monitor.config_schema import KeyPath, Reader
from monitor.errors import DeliveryError

Problem = tuple[str, str]  # (option key, message)


@dataclass(frozen=True)
class Secret:
    """A value given inline, in a file, or in an environment variable."""

    value: str = ""
    file: str = ""
    env: str = ""

    def __bool__(self) -> bool:
        return bool(self.value or self.file or self.env)

    def __repr__(self) -> str:  # never show the value
        if self.file:
            return f"Secret(file={self.file!r})"
        if self.env:
            return f"Secret(env={self.env!r})"
        return "Secret(<inline>)" if self.value else "Secret()"

    __str__ = __repr__

    def resolve(self, key: str) -> str:
        """The value; :class:`DeliveryError` naming the source (never the value) if unset."""
        if self.file:
            try:
                text = read_bytes(self.file).decode("utf-8").strip()
            except OSError as exc:
                raise DeliveryError(
                    f"{key}_file {self.file}: cannot read ({exc.strerror or exc})"
                ) from None
            if not text:
                raise DeliveryError(f"{key}_file {self.file}: is empty")
            return text
        if self.env:
            value = os.environ.get(self.env, "").strip()
            if not value:
                raise DeliveryError(f"{key}_env: environment variable {self.env} is not set")
            return value
        if not self.value:
            raise DeliveryError(f"{key}: not configured")
        return self.value


def option(
    default: Any,
    *,
    key: str | None = None,
    required: bool = False,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
) -> Any:
    """A receiver option; ``key`` when the TOML key is not a Python name (``from``)."""
    meta = {"key": key, "required": required, "choices": choices, "minimum": minimum}
    if isinstance(default, Secret):
        return field(default_factory=Secret, metadata=meta)
    return field(default=default, metadata=meta)


def secret(*, required: bool = False) -> Any:
    return option(Secret(), required=required)


@dataclass(frozen=True)
class ReceiverOptions:
    """Options every receiver has; a provider subclasses this and may change defaults."""

    send_resolved: bool = option(True)
    max_per_minute: int = option(0, minimum=0)  # rate limit; 0: none; excess waits queued
    repeat_interval_seconds: float = option(0.0, minimum=0)  # 0: [alerts] default
    resend_resolved_seconds: float = option(0.0, minimum=0)  # keep re-sending resolved
    # The whole attempt (connect, send, the answer; every URL or event of it), not each
    # read: an attempt still going at this deadline is cut, counted failed and retried.
    timeout_seconds: float = option(10.0, minimum=0.1)

    def validate(self) -> list[Problem]:
        return []


@dataclass(frozen=True)
class Delivery:
    """The outcome of one send. ``throttled``: the receiver said 429 (pause all of it)."""

    ok: bool
    status: int | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, from Retry-After
    throttled: bool = False
    note: str = ""  # delivered, but something is worth a warning (one of two targets failed)


@dataclass(frozen=True)
class SendContext:
    now: dt.datetime
    http: Any  # an outcome.HttpPoster: providers.http.HttpClient, given by the sender
    receiver: str = ""
    deadline: Deadline | None = None  # the attempt's; None: one from timeout_seconds

    def deadline_for(self, options: ReceiverOptions) -> Deadline:
        return self.deadline or Deadline(options.timeout_seconds)


@dataclass(frozen=True)
class ProviderSpec:
    type: str
    options: type[ReceiverOptions]
    build_payload: Callable[[Any, Notification, dt.datetime], Any]
    send: Callable[[Any, Notification, SendContext], Delivery]


# --- reading options ---------------------------------------------------------------------


def read_options(
    r: Reader, cls: type[ReceiverOptions], raw: Mapping[str, Any], p: KeyPath
) -> ReceiverOptions:
    hints = typing.get_type_hints(cls)
    known: list[str] = []
    values: dict[str, Any] = {}
    for f in fields(cls):
        key = f.metadata.get("key") or f.name
        kind = hints[f.name]
        if kind is Secret:
            known += [key, f"{key}_file", f"{key}_env"]
            values[f.name] = _read_secret(r, raw, p, key, f.metadata.get("required", False))
            continue
        known.append(key)
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        values[f.name] = _read_value(r, raw, p, key, kind, default, f.metadata)
    r.table(dict(raw), p, known)
    options = cls(**values)
    for key, message in options.validate():
        r.error((*p, key), message)
    return options


def _read_secret(r: Reader, raw: Mapping[str, Any], p: KeyPath, key: str, required: bool) -> Secret:
    d = dict(raw)
    given = [k for k in (key, f"{key}_file", f"{key}_env") if k in d]
    if len(given) > 1:
        r.error((*p, given[1]), f"give only one of {key}, {key}_file, {key}_env")
    if required and not given:
        r.error((*p, key), f"required: set {key}, {key}_file or {key}_env")
    return Secret(
        value=r.string(d, p, key, "") or "",
        file=r.string(d, p, f"{key}_file", "") or "",
        env=r.string(d, p, f"{key}_env", "") or "",
    )


def _read_value(
    r: Reader,
    raw: Mapping[str, Any],
    p: KeyPath,
    key: str,
    kind: Any,
    default: Any,
    meta: Mapping[str, Any],
) -> Any:
    d = dict(raw)
    if meta.get("required") and key not in d:
        r.error((*p, key), "required key is missing")
        return default
    minimum = meta.get("minimum")
    if kind is bool:
        return r.boolean(d, p, key, default)
    if kind is int:
        return r.integer(d, p, key, default, minimum=minimum)
    if kind is float:
        return float(r.number(d, p, key, default, minimum=minimum))
    if kind is str:
        return r.string(d, p, key, default, choices=meta.get("choices"))
    if typing.get_origin(kind) is tuple:
        value = r.strings(d, p, key, default)
        if meta.get("required") and d.get(key) == []:
            r.error((*p, key), "must not be empty")
        return value
    raise TypeError(f"option {key}: unsupported type {kind!r}")  # a programming error


def credentials_clash(url: str, bearer_token: Secret) -> str | None:
    """Why ``url`` and ``bearer_token`` cannot go together, or None. requests sends a URL's
    ``user:password@`` as Basic auth over any Authorization header, so the token would be
    replaced silently."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None  # check_url names it
    if bearer_token and (parts.username is not None or parts.password is not None):
        return "has user:password@ and bearer_token is set: give one of them, not both"
    return None


def check_url(key: str, url: str, *, schemes: tuple[str, ...] = ("http", "https")) -> list[Problem]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535"
        return [(key, f"expected an {' or '.join(schemes)} URL ({exc})")]
    if parts.scheme not in schemes or not parts.hostname:
        return [(key, f"expected an {' or '.join(schemes)} URL")]
    return []

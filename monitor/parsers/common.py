"""Helpers shared by the parsers: input hygiene and JSON-form detection."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from monitor.errors import ParseError

T = TypeVar("T")


def guarded(what: str) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Make a ``parse`` answer every input with a result or a :class:`ParseError`: a number
    past what Python converts (``int`` of 5000 digits), an overflow or absurd nesting in
    hostile output is output we cannot understand (reason ``parse``), not a crashed probe."""

    def wrap(parse: Callable[[str], T]) -> Callable[[str], T]:
        @functools.wraps(parse)
        def run(text: str) -> T:
            try:
                return parse(text)
            except RecursionError:
                raise ParseError(f"{what}: input nested too deeply") from None
            except (ValueError, OverflowError) as exc:
                detail = str(exc)
                if "digits" in detail:  # int()'s "Exceeds the limit (4300 digits)..."
                    detail = "a number with more digits than any Slurm value"
                elif len(detail) > 80:
                    detail = detail[:77] + "..."
                raise ParseError(f"{what}: value out of range: {detail}") from None

        return run

    return wrap


def clean_text(text: str, what: str) -> str:
    """Reject input no Slurm command prints: empty, NUL bytes, undecodable garbage."""
    if not text.strip():
        raise ParseError(f"{what}: empty input")
    if "\x00" in text:
        raise ParseError(f"{what}: binary data (NUL byte) in input")
    if "\ufffd" in text:
        raise ParseError(f"{what}: input is not valid UTF-8 text")
    return text


def looks_like_json(text: str) -> bool:
    return text.lstrip().startswith("{")


# Slurm's numbers are at most 64 bits: 20 digits and a sign. Longer ones are not Slurm's, and
# Python refuses to convert past 4300 digits anyway.
_MAX_DIGITS = 20


class _OutOfRange(Exception):
    def __init__(self, text: str):
        self.text = text if len(text) <= 40 else text[:37] + "..."


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise _OutOfRange(text)
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 overflows to inf
        raise _OutOfRange(text)
    return value


def _json_constant(text: str) -> float:
    raise _OutOfRange(text)  # NaN, Infinity, -Infinity: JavaScript, not JSON, not Slurm's


def load_json(text: str, what: str) -> dict[str, Any]:
    """Decode a ``--json`` document; a truncated or malformed one names the position; a
    number no Slurm prints (1e400, NaN, 30 digits) or absurd nesting is named as such."""
    try:
        doc = json.loads(
            text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except json.JSONDecodeError as exc:
        raise ParseError(f"{what}: malformed JSON: {exc.msg}", exc.lineno) from exc
    except _OutOfRange as exc:
        raise ParseError(f"{what}: number out of range in JSON: {exc.text}") from None
    except RecursionError:
        raise ParseError(f"{what}: JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise ParseError(f"{what}: JSON document is not an object")
    return doc


def json_number(value: Any, key: str, what: str) -> int | float | None:
    """A number in any data_parser form: plain (v0.0.39/40) or ``{set, infinite, number}``
    (v0.0.41+). Unset or infinite gives None: a value Slurm did not give is absent, never 0.
    """
    if isinstance(value, bool):
        raise ParseError(f"{what}: {key}: expected a number, got a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParseError(f"{what}: {key}: number out of range: {value}")
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict) and "number" in value:
        if not value.get("set", True) or value.get("infinite", False):
            return None
        return json_number(value["number"], key, what)
    if value is None:
        return None
    raise ParseError(f"{what}: {key}: expected a number, got {type(value).__name__}")


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """Every line with its 1-based number, line endings (``\\n``, ``\\r\\n``) removed."""
    return [(no, line.rstrip("\r")) for no, line in enumerate(text.split("\n"), start=1)]


def json_errors(doc: dict[str, Any]) -> str | None:
    """Slurm's own ``errors`` list of a ``--json`` document, as one line; None if empty."""
    errors = doc.get("errors")
    if not isinstance(errors, list) or not errors:
        return None
    parts = []
    for err in errors:
        if isinstance(err, dict):
            text = err.get("description") or err.get("error") or err.get("error_number")
            parts.append(str(text) if text not in (None, "") else json.dumps(err))
        else:
            parts.append(str(err))
    return "; ".join(parts)


def json_meta(doc: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(data_parser, release)`` from a ``--json`` document's ``meta``, where Slurm gave them.

    v0.0.39 names the Slurm block ``Slurm``, later versions ``slurm``; both are read.
    """
    meta = doc.get("meta")
    if not isinstance(meta, dict):
        return None, None
    plugin = meta.get("plugin")
    parser = plugin.get("data_parser") if isinstance(plugin, dict) else None
    slurm = meta.get("slurm", meta.get("Slurm"))
    release = slurm.get("release") if isinstance(slurm, dict) else None
    return (
        parser if isinstance(parser, str) and parser else None,
        release if isinstance(release, str) and release else None,
    )


def json_list(doc: dict[str, Any], key: str, what: str) -> list[Any]:
    """``doc[key]`` as a list; a missing key names Slurm's own errors when it gave some."""
    if key not in doc:
        errors = json_errors(doc)
        detail = f" (Slurm reported: {errors})" if errors else ""
        raise ParseError(f'{what}: JSON document has no "{key}" list{detail}')
    value = doc[key]
    if not isinstance(value, list):
        raise ParseError(f'{what}: "{key}" is {type(value).__name__}, expected a list')
    return value


def json_int(value: Any, key: str, what: str) -> int:
    """A required whole number in any data_parser form; unset or fractional is an error."""
    number = json_number(value, key, what)
    if number is None:
        raise ParseError(f"{what}: {key}: no value")
    if isinstance(number, float):
        if not number.is_integer():
            raise ParseError(f"{what}: {key}: expected a whole number, got {number}")
        number = int(number)
    return number


# A hostlist expression can name millions of hosts ("n[0-9999999]"); refuse to expand past this.
MAX_HOSTLIST_HOSTS = 65536


def expand_hostlist(expr: str, what: str) -> list[str]:
    """Expand a Slurm hostlist expression ("c[1-2,05],gpu[01-02]x") to host names, in order.

    Ranges keep the zero padding of their first bound, as Slurm prints them. Several bracket
    groups in one name multiply out ("r[1-2]n[1-2]" gives four hosts).
    """
    hosts: list[str] = []
    for item in _split_top_level(expr.strip(), what):
        names = [""]
        rest = item
        while rest:
            open_at = rest.find("[")
            if open_at < 0:
                if "]" in rest:
                    raise ParseError(f"{what}: malformed hostlist {expr!r}")
                names = [n + rest for n in names]
                break
            close_at = rest.find("]", open_at)
            if close_at < 0:
                raise ParseError(f"{what}: malformed hostlist {expr!r}")
            prefix, body, rest = rest[:open_at], rest[open_at + 1 : close_at], rest[close_at + 1 :]
            if "]" in prefix:
                raise ParseError(f"{what}: malformed hostlist {expr!r}")
            suffixes = _expand_ranges(body, expr, what)
            names = [n + prefix + s for n in names for s in suffixes]
            if len(names) > MAX_HOSTLIST_HOSTS:
                raise ParseError(f"{what}: hostlist {expr[:40]!r} names too many hosts")
        hosts.extend(names)
        if len(hosts) > MAX_HOSTLIST_HOSTS:
            raise ParseError(f"{what}: hostlist {expr[:40]!r} names too many hosts")
    return hosts


def _split_top_level(expr: str, what: str) -> list[str]:
    items, depth, start = [], 0, 0
    for i, ch in enumerate(expr):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(expr[start:i])
            start = i + 1
        if depth not in (0, 1):
            raise ParseError(f"{what}: malformed hostlist {expr!r}")
    items.append(expr[start:])
    if depth != 0 or any(not item or item.isspace() for item in items):
        raise ParseError(f"{what}: malformed hostlist {expr!r}")
    return items


def _expand_ranges(body: str, expr: str, what: str) -> list[str]:
    out: list[str] = []
    for part in body.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ParseError(f"{what}: malformed hostlist {expr!r}")
        first, last = int(low), int(high) if dash else int(low)
        if last < first or last - first >= MAX_HOSTLIST_HOSTS:
            raise ParseError(f"{what}: malformed hostlist range {part!r} in {expr!r}")
        width = len(low) if low.startswith("0") else 0
        out.extend(str(n).zfill(width) for n in range(first, last + 1))
    return out


def auth_info_socket(auth_info: str | None) -> str | None:
    """``socket=PATH`` among AuthInfo's comma-separated options (slurm.conf(5)): the munge
    socket Slurm uses, e.g. ``socket=/run/munge-x/munge.socket.2,ttl=60``."""
    if not auth_info:
        return None
    for option in auth_info.split(","):
        name, _, value = option.strip().partition("=")
        if name == "socket" and value:
            return value
    return None

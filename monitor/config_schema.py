"""A small typed reader for TOML tables that collects every error with its key path.

It exists so :mod:`monitor.config` reads like a declaration of settings, and so that all
problems of a file come out at once instead of one per run.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

KeyPath = tuple[str | int, ...]

# No number of ours means anything past this; larger ones are typos (or 1e308), and would
# overflow a datetime, SQLite's 64-bit integers or a timer.
LARGEST = 1e9
DAY = 86400.0
FIRST_INSTANT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LAST_INSTANT = dt.datetime(9998, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class Reader:
    """Reads values out of nested dicts, recording ``(path, message)`` for each problem."""

    def __init__(self) -> None:
        self.errors: list[tuple[KeyPath, str]] = []

    def error(self, path: KeyPath, message: str) -> None:
        self.errors.append((path, message))

    def table(self, data: Any, path: KeyPath, known: Iterable[str]) -> dict[str, Any]:
        """``data`` as a table; unknown keys are errors (typos must not pass silently)."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.error(path, f"expected a table, got {_kind(data)}")
            return {}
        allowed = set(known)
        for key in data:
            if key not in allowed:
                hint = _close_match(key, allowed)
                self.error(
                    (*path, key), "unknown key" + (f" (did you mean {hint!r}?)" if hint else "")
                )
        return data

    def tables(self, data: Any, path: KeyPath) -> list[dict[str, Any]]:
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            self.error(path, "expected an array of tables ([[...]])")
            return []
        return data

    def number(
        self,
        data: dict[str, Any],
        path: KeyPath,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        integer: bool = False,
        above: float | None = None,
        maximum: float | None = None,
    ) -> float:
        """A finite number within bounds. TOML accepts ``inf``, ``nan`` and ``1e308``; none
        means anything as a setting of ours, and each breaks something later (a timer that
        never fires, NaN in /metrics, a date past year 9999), so all are errors here.

        ``maximum`` defaults to :data:`LARGEST`, and to a day for every key named
        ``*timeout_seconds`` (the monitor's and every receiver's): a longer wait is a typo."""
        if maximum is None:
            maximum = DAY if key.endswith("timeout_seconds") else LARGEST
        if key not in data:
            return default
        value = data[key]
        ok_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            self.error(
                (*path, key),
                f"expected {'an integer' if integer else 'a number'}, got {_kind(value)}",
            )
            return default
        if not math.isfinite(value):
            self.error((*path, key), f"must be a finite number, got {value}")
            return default
        if minimum is not None and value < minimum:
            self.error((*path, key), f"must be >= {minimum:g}, got {value:g}")
            return default
        if above is not None and value <= above:
            self.error((*path, key), f"must be > {above:g}, got {value:g}")
            return default
        if value > maximum:
            self.error((*path, key), f"must be <= {_bound(maximum)}, got {value:g}")
            return default
        return value

    def integer(
        self,
        data: dict[str, Any],
        path: KeyPath,
        key: str,
        default: int,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        return int(
            self.number(data, path, key, default, minimum=minimum, integer=True, maximum=maximum)
        )

    def seconds(
        self,
        data: dict[str, Any],
        path: KeyPath,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        above: float | None = None,
        maximum: float = DAY,
    ) -> float:
        """A duration: at most a day unless the key says otherwise (an interval or timeout
        past a day is a typo in minutes or milliseconds, not a wish)."""
        return float(
            self.number(data, path, key, default, minimum=minimum, above=above, maximum=maximum)
        )

    def string(
        self,
        data: dict[str, Any],
        path: KeyPath,
        key: str,
        default: str | None,
        *,
        choices: Iterable[str] | None = None,
        required: bool = False,
    ) -> str | None:
        if key not in data:
            if required:
                self.error((*path, key), "required key is missing")
            return default
        value = data[key]
        if not isinstance(value, str):
            self.error((*path, key), f"expected a string, got {_kind(value)}")
            return default
        if choices is not None and value not in set(choices):
            self.error((*path, key), f"must be one of {', '.join(sorted(choices))}; got {value!r}")
            return default
        if required and not value.strip():
            self.error((*path, key), "must not be empty")
        return value

    def path(
        self, data: dict[str, Any], path: KeyPath, key: str, default: Path | None
    ) -> Path | None:
        value = self.string(data, path, key, None)
        if value is not None and not value.strip():
            # An empty path would silently mean the default (or the current directory).
            self.error((*path, key), "must not be empty (leave the key out for the default)")
            return default
        return Path(value) if value else default

    def boolean(self, data: dict[str, Any], path: KeyPath, key: str, default: bool) -> bool:
        if key not in data:
            return default
        if not isinstance(data[key], bool):
            self.error((*path, key), f"expected true or false, got {_kind(data[key])}")
            return default
        return data[key]

    def strings(
        self,
        data: dict[str, Any],
        path: KeyPath,
        key: str,
        default: tuple[str, ...] | None,
        *,
        choices: Iterable[str] | None = None,
    ) -> tuple[str, ...] | None:
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error((*path, key), "expected an array of strings")
            return default
        if choices is not None:
            allowed = set(choices)
            for i, item in enumerate(value):
                if item not in allowed:
                    self.error(
                        (*path, key, i),
                        f"must be one of {', '.join(sorted(allowed))}; got {item!r}",
                    )
        return tuple(value)

    def timestamp(
        self, data: dict[str, Any], path: KeyPath, key: str, *, required: bool = False
    ) -> dt.datetime | None:
        if key not in data:
            if required:
                self.error((*path, key), "required key is missing")
            return None
        value = data[key]
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                self.error((*path, key), f"not an ISO 8601 date-time: {value!r}")
                return None
        if not isinstance(value, dt.datetime):
            self.error((*path, key), f"expected a date-time, got {_kind(value)}")
            return None
        if value.tzinfo is None:
            self.error(
                (*path, key),
                "needs a UTC offset (e.g. 2026-12-01T02:00:00Z): a local time is ambiguous",
            )
            return None
        # The ledger counts microseconds since 1970, and a repeat must not step past 9999.
        if not FIRST_INSTANT <= value <= LAST_INSTANT:
            self.error(
                (*path, key),
                f"must be between 1970-01-01 and 9998-12-31, got {value.isoformat()}",
            )
            return None
        return value.astimezone(dt.UTC)


def _bound(value: float) -> str:
    named = {DAY: " (a day)", 7 * DAY: " (a week)", 366 * DAY: " (a year)"}
    return f"{value:g}{named.get(value, '')}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _close_match(key: str, allowed: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.75)
    return found[0] if found else None

"""Where each key of a TOML file stands, so config errors can say ``FILE:LINE``.

``tomllib`` gives values but no positions. This scanner reads the same text line by line and
maps key paths (``("clusters", 1, "name")``) to 1-based line numbers. It only needs to be
right for well-formed files (tomllib has accepted the file before we ask), and it degrades to
the nearest enclosing table when a key is written in a form it does not follow.
"""

from __future__ import annotations

import re

_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(?:#.*)?$")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")

Path = tuple[str | int, ...]


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p.strip("\"'") for p in parts]


def key_lines(text: str) -> dict[Path, int]:
    """Map every table and key path in ``text`` to the line it starts on."""
    lines: dict[Path, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    prefix: Path = ()
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if in_multiline in raw:
                in_multiline = None
            continue
        if m := _ARRAY_TABLE.match(raw):
            name = tuple(_split_dotted(m.group(1)))
            index = counts.get(name, 0)
            counts[name] = index + 1
            prefix = (*_indexed(name[:-1], counts), name[-1], index)
            lines.setdefault(prefix, number)
            lines.setdefault(prefix[:-1], number)
            continue
        if m := _TABLE.match(raw):
            prefix = _indexed(tuple(_split_dotted(m.group(1))), counts)
            lines.setdefault(prefix, number)
            continue
        if m := _KEY.match(raw):
            lines.setdefault((*prefix, *_split_dotted(m.group(1))), number)
            rest = raw[m.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return lines


def _indexed(name: tuple[str, ...], counts: dict[tuple[str, ...], int]) -> Path:
    """``[clusters.slo]`` after ``[[clusters]]`` belongs to the last cluster so far: the
    path gets that cluster's index (``("clusters", 1, "slo")``), as tomllib reads it."""
    out: list[str | int] = []
    for i, part in enumerate(name):
        out.append(part)
        seen = counts.get(name[: i + 1])
        if seen:
            out.append(seen - 1)
    return tuple(out)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, else of its nearest enclosing table that has one."""
    probe = tuple(path)
    while probe:
        if probe in lines:
            return lines[probe]
        probe = probe[:-1]
    return None

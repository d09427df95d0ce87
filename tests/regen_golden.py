"""Regenerate the golden ``<fixture>.parsed.json`` files of every parse kind.

    python -m tests.regen_golden            # every kind with a fixture directory
    python -m tests.regen_golden ping sdiag # only these kinds

Each stdout fixture (``tests/fixtures/<kind>/*.txt`` and ``*.json``, not ``*.parsed.json`` or
``*.meta.json``) goes through ``monitor.parsers.parser_for(kind)``. A parse writes the golden:
exactly what ``slurm-sla parse <kind>`` prints. A ParseError (e.g. a recorded failed command
with empty stdout) removes any stale golden, since that command prints nothing. Review the
diff before committing: a golden is a claim about Slurm's output, not a snapshot to accept.
"""

from __future__ import annotations

import sys

from monitor.errors import ParseError
from monitor.parsers import KINDS, parser_for
from tests.support.fixtures import FIXTURES, golden_path, render, stdout_fixtures


def regenerate(kind: str) -> tuple[int, int]:
    """Rewrite the goldens of ``kind``; returns (written, failures)."""
    try:
        parse = parser_for(kind)
    except (KeyError, ImportError) as exc:
        print(f"{kind}: skipped, no parser ({exc})")
        return 0, 0
    written = failed = 0
    for fixture in stdout_fixtures(kind):
        golden = golden_path(fixture)
        try:
            document = parse(fixture.read_text(encoding="utf-8", errors="replace")).to_dict()
        except ParseError as exc:
            failed += 1
            if golden.exists():
                golden.unlink()
            print(f"{kind}/{fixture.name}: ParseError: {exc}")
            continue
        text = render(document)
        if not golden.exists() or golden.read_text(encoding="utf-8") != text:
            golden.write_text(text, encoding="utf-8")
            print(f"{kind}/{golden.name}: written")
        written += 1
    return written, failed


def main(argv: list[str]) -> int:
    kinds = argv or [k for k in KINDS if (FIXTURES / k).is_dir()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        print(f"unknown kind(s): {', '.join(unknown)}; known: {', '.join(KINDS)}")
        return 1
    for kind in kinds:
        written, failed = regenerate(kind)
        print(f"{kind}: {written} golden(s), {failed} fixture(s) that do not parse")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The Markdown report shows a maintenance reason and a ``--by`` literally, as the HTML
report does: raw HTML, links and code spans from them are escaped, never passed on to the
ticket system that renders the Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from freezegun import freeze_time

from monitor.cli import main
from monitor.report.render_md import cell

HOSTILE = '<img src=x onerror="alert(1)"> [click](javascript:alert(2)) `rm` R&D | x'
BY = "<b>mallory</b>"


def test_cell_escapes_html_links_code_and_the_table():
    assert cell(HOSTILE) == (
        '&lt;img src=x onerror="alert(1)"&gt; \\[click\\](javascript:alert(2)) \\`rm\\` '
        "R&amp;D \\| x"
    )


def test_a_hostile_reason_and_by_reach_the_report_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_text('[monitor]\nstate_dir = "state"\n[[clusters]]\nname = "a"\n')
    with freeze_time("2026-11-02T00:00:00Z"):
        assert main([
            "maintenance", "add", "--config", "config.toml", "--start", "2026-10-20T00:00Z",
            "--end", "2026-10-20T01:00Z", "--reason", HOSTILE, "--by", BY, "--retroactive",
        ]) == 0  # fmt: skip
        capsys.readouterr()
        assert main(["report", "--config", "config.toml", "--month", "2026-10"]) == 0
        md = capsys.readouterr().out
        assert main(["report", "--config", "config.toml", "--month", "2026-10",
                     "--format", "html"]) == 0  # fmt: skip
        html = capsys.readouterr().out
    assert "&lt;img src=x" in md and "&lt;b&gt;mallory&lt;/b&gt;" in md
    assert "<img" not in md and "<b>" not in md
    assert "\\[click\\](javascript" in md and not re.search(r"(?<!\\)\]\(", md)
    assert "<img" not in html and "<b>mallory" not in html  # the HTML report, as before

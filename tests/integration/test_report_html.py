"""The HTML report as a browser shows it: headless Chromium (Debian's ``chromium``) renders
the known month of ``tests/support/report_month.py`` to a PNG the size of A4 at 150 dpi.
The page must not be blank and its charts must be drawn: the PNG is decoded here with
zlib and struct alone, and its pixels counted in the charts' colours."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from freezegun import freeze_time

from monitor.cli import main
from monitor.report.svg import COLORS
from tests.support.chromium import CHROMIUM_FLAGS, decode_png
from tests.support.debian import ensure_packages
from tests.support.report_month import NOW, in_october, october  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("in_october")]

WINDOW = (1240, 1754)  # A4 at 150 dpi


def pixel_counts(png: Path) -> tuple[int, int, dict[str, int]]:
    """(pixels, non-white pixels, pixels of each chart colour)."""
    width, height, bpp, rows = decode_png(png.read_bytes())
    targets = {k: tuple(int(v[i : i + 2], 16) for i in (1, 3, 5)) for k, v in COLORS.items()}
    counts = dict.fromkeys(targets, 0)
    non_white = 0
    for row in rows:
        for x in range(0, width * bpp, bpp):
            r, g, b = row[x], row[x + 1], row[x + 2]
            if r < 245 or g < 245 or b < 245:
                non_white += 1
                for name, (tr, tg, tb) in targets.items():
                    if abs(r - tr) <= 6 and abs(g - tg) <= 6 and abs(b - tb) <= 6:
                        counts[name] += 1
    return width * height, non_white, counts


def screenshot(html: Path, png: Path, profile: Path) -> None:
    result = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", html.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0 and png.exists(), result.stderr[-2000:]


def test_the_html_report_renders_with_its_charts(tmp_path):
    ensure_packages("chromium", binary="chromium")
    html = tmp_path / "report.html"
    with freeze_time(NOW):
        code = main(["report", "--config", "config.toml", "--month", "2026-10",
                     "--format", "html", "--output", str(html)])  # fmt: skip
    assert code == 0
    text = html.read_text()
    assert len(re.findall(r'<svg class="timeline"', text)) == 2  # one per service
    assert len(re.findall(r'<svg class="burndown"', text)) == 2
    assert text.count('<polyline class="remaining"') == 2
    assert "<script" not in text and not re.search(r'(src|href)="https?:', text)  # self-contained
    assert "@page" in text and "size: A4" in text

    png = tmp_path / "report.png"
    screenshot(html, png, tmp_path / "chromium-profile")
    keep = os.environ.get("REPORT_PNG")  # e.g. REPORT_PNG=/tmp/report.png to look at it
    if keep:
        shutil.copy(png, keep)
    pixels, non_white, colours = pixel_counts(png)
    assert pixels == WINDOW[0] * WINDOW[1]
    assert non_white > pixels * 0.05, f"{non_white} of {pixels} pixels are not white"
    # The timelines: mostly up (green), with outages (red), maintenance (blue) and the
    # monitor's blind and absent time (grey) visible; the overspent budget line is red.
    assert colours["up"] > 40_000, colours
    assert colours["down"] > 200 and colours["maintenance"] > 50, colours
    assert colours["unknown"] > 50, colours

"""The status page as people see it: headless Chromium (Debian's ``chromium``) renders
``/status`` of the real daemon on the simulated cluster, and the static page of
``slurm-sla status --output``, at phone (390 px) and desktop (1280 px) widths. The DOM the
browser built (``--dump-dom``) is checked against the ledger's numbers: 90 bars per
service, the incident and the failovers the script caused, and the month's figures, which
match ``slurm-sla report --month current --format json`` for the same ledger.

``STATUS_PNG=/some/dir`` keeps the screenshots to look at."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.status.render_json import MONTH_KEYS
from tests.support.chromium import CHROMIUM_FLAGS, decode_png
from tests.support.daemon import DaemonProcess, free_port
from tests.support.debian import ensure_packages
from tests.support.simulated_daemon import write_config

pytestmark = pytest.mark.integration

WIDTHS = (390, 1280)
HEIGHT = 2400
EXTRA = """\
customer = "acme"

[status]
title = "Acme HPC status"

[[maintenance]]
start = {start}
end = {end}
reason = "Slurm upgrade to 26.05"
"""


@dataclasses.dataclass
class Dom:
    services: list[dict[str, str]]
    days: list[dict[str, str]]
    incidents: list[dict[str, str]]
    failovers: list[dict[str, str]]
    windows: int
    titles: list[str]
    external: list[str]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.dom = Dom([], [], [], [], 0, [], [])
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "").split()
        if "service" in cls:
            self.dom.services.append(a)
        elif tag == "rect" and "day" in cls:
            self.dom.days.append(a)
        elif tag == "tr" and "incident" in cls:
            self.dom.incidents.append(a)
        elif tag == "tr" and "failover" in cls:
            self.dom.failovers.append(a)
        elif tag == "tr" and "window" in cls and "past" not in cls:
            self.dom.windows += 1
        self._in_title = tag == "title" and bool(self.dom.days)
        self.dom.external += [a[k] for k in ("src", "href") if a.get(k)]

    def handle_data(self, data):
        if self._in_title:
            self.dom.titles.append(data)
            self._in_title = False


def chromium(url: str, width: int, profile: Path, *, png: Path | None = None) -> str:
    """The DOM Chromium built from ``url`` (or, with ``png``, a screenshot of it)."""
    what = [f"--screenshot={png}"] if png else ["--dump-dom"]
    result = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *what,
         f"--window-size={width},{HEIGHT}", url],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    if png:
        assert png.exists(), result.stderr[-2000:]
        keep = os.environ.get("STATUS_PNG")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(png, Path(keep) / png.name)
    return result.stdout


def parse(html: str) -> Dom:
    p = _Parser()
    p.feed(html)
    return p.dom


def check_screenshot(png: Path, width: int) -> None:
    """Drawn, and no wider than the window: nothing runs off a phone's screen."""
    w, h, bpp, rows = decode_png(png.read_bytes())
    assert (w, h) == (width, HEIGHT)
    green = 0
    for row in rows[:1200]:
        for x in range(0, w * bpp, bpp):
            r, g, b = row[x], row[x + 1], row[x + 2]
            green += abs(r - 0x2E) <= 8 and abs(g - 0x9E) <= 8 and abs(b - 0x5B) <= 8
    assert green > 200, f"no green state badge or bar drawn at {width} px"


def check_page(dom: Dom, doc: dict, *, exact: bool = True) -> None:
    """The DOM against the page's JSON (the ledger's numbers). ``exact``: the two were
    made from the same ledger (a running daemon's availability moves with every round)."""
    assert dom.external == []
    services = [s for c in doc["clusters"] for s in c["services"]]
    assert len(dom.services) == len(services) == 2
    assert len(dom.days) == 90 * len(services)
    assert len(dom.titles) == len(dom.days)
    for i, svc in enumerate(services):
        bars = dom.days[90 * i : 90 * (i + 1)]
        assert [b["data-date"] for b in bars] == [d["date"] for d in svc["days"]]
        assert [b["data-kind"] for b in bars] == [d["kind"] for d in svc["days"]]
        node = dom.services[i]
        assert node["data-service"] == svc["service"]
        figure = svc["month"]["availability_percent"]
        tolerance = 1e-9 if exact else 1e-3
        assert float(node["data-availability-percent"]) == pytest.approx(figure, abs=tolerance)
        assert float(node["data-downtime-seconds"]) == svc["month"]["downtime_seconds"]
    expected = [i for s in services for i in s["incidents"]]
    assert [(r["data-start"], float(r["data-duration-seconds"])) for r in dom.incidents] == [
        (i["start"], i["duration_seconds"]) for i in expected
    ]
    assert len(dom.failovers) == sum(len(s["failovers"]) for s in services)
    assert dom.windows == sum(len(c["maintenance"]) for c in doc["clusters"]) == 1


def test_status_page_in_chromium(sim, tmp_path):
    ensure_packages("chromium", binary="chromium")
    port = free_port()
    config = tmp_path / "config.toml"
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=7)
    extra = EXTRA.format(
        start=soon.isoformat().replace("+00:00", "Z"),
        end=(soon + dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
    )
    write_config(config, sim, port, extra=extra)
    d = DaemonProcess(config, port)
    up = lambda: d.value("slurm_service_up", service="slurmctld")  # noqa: E731
    try:
        d.wait_ready()
        d.wait_until("controllers up", lambda: up() == 1.0, 20)
        sim.set_situation("primary-killed")
        d.wait_until("failover", lambda: d.value("slurm_controller_active", host="ctl2") == 1, 20)
        sim.set_situation("healthy")
        d.wait_until("failback", lambda: d.value("slurm_controller_active", host="ctl1") == 1, 20)
        sim.set_situation("both-killed")
        d.wait_until("outage", lambda: up() == 0.0, 20)
        sim.set_situation("healthy")
        d.wait_until("recovered", lambda: up() == 1.0, 20)

        def recorded() -> bool:  # the store thread writes shortly after the round
            doc = json.loads(d.get("/status.json?customer=acme")[1])
            ctl = doc["clusters"][0]["services"][0]
            return (
                len(ctl["failovers"]) == 2
                and len(ctl["incidents"]) == 1
                and ctl["incidents"][0]["end"] is not None
                and ctl["state"] == "up"
            )

        d.wait_until("the ledger has the script", recorded, 30, interval=1)
        profile = tmp_path / "chromium-profile"
        html = chromium(f"{d.url}/status?customer=acme", 1280, profile)
        doc = json.loads(d.get("/status.json?customer=acme")[1])
        for width in WIDTHS:
            png = tmp_path / f"status-daemon-{width}.png"
            chromium(f"{d.url}/status?customer=acme", width, profile, png=png)
            check_screenshot(png, width)
    finally:
        assert d.stop() == 0, d.tail()

    dom = parse(html)
    assert "Acme HPC status" in html and "Slurm upgrade to 26.05" in html
    ctl = doc["clusters"][0]["services"][0]
    assert [f["kind"] for f in ctl["failovers"]] == ["failback", "failover"]
    incident = ctl["incidents"][0]
    assert incident["downtime_seconds"] > 0 and incident["cause"] == "both controllers down"
    # Today has the outage; the days before the ledger began are no data, never green.
    assert ctl["days"][-1]["kind"] in ("partial", "outage")
    assert {x["kind"] for x in ctl["days"][:-2]} == {"nodata"}
    check_page(dom, doc, exact=False)

    # Stopped: the static page and the report read the same ledger, figure for figure.
    site = tmp_path / "site"
    cli = [sys.executable, "-m", "monitor"]
    out = subprocess.run([*cli, "status", "--config", str(config), "--output", str(site)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    static = json.loads((site / "status.json").read_text())
    report = subprocess.run(
        [*cli, "report", "--config", str(config), "--month", "current", "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    reported = json.loads(report.stdout)
    assert static["period"] == {"start": reported["start"], "end": reported["end"]}
    for mine, theirs in zip(
        static["clusters"][0]["services"], reported["clusters"][0]["services"], strict=True
    ):
        assert {k: mine["month"][k] for k in MONTH_KEYS} == {k: theirs[k] for k in MONTH_KEYS}
        assert [i["start"] for i in mine["incidents"]] == [
            i["start"] for i in reversed(theirs["incidents"])
        ]
    page = site / "index.html"
    check_page(parse(chromium(page.as_uri(), 390, profile)), static)
    for width in WIDTHS:
        png = tmp_path / f"status-static-{width}.png"
        chromium(page.as_uri(), width, profile, png=png)
        check_screenshot(png, width)
    assert re.search(r"Month to date: <b class=\"availability\">\d+\.\d{3} %", page.read_text())

"""One entry point for every format: ``render(report, fmt)`` -> bytes."""

from __future__ import annotations

from collections.abc import Callable

from monitor.report.model import Report

EXTENSIONS = {"md": "md", "html": "html", "json": "json", "csv": "csv", "pdf": "pdf"}


def _text(module: str) -> Callable[[Report], bytes]:
    def run(report: Report) -> bytes:
        from importlib import import_module

        return import_module(f"monitor.report.render_{module}").render(report).encode("utf-8")

    return run


def _pdf(report: Report) -> bytes:
    from monitor.report.render_pdf import render as render_pdf

    return render_pdf(report)


RENDERERS: dict[str, Callable[[Report], bytes]] = {
    "md": _text("md"),
    "html": _text("html"),
    "json": _text("json"),
    "csv": _text("csv"),
    "pdf": _pdf,
}
FORMATS = tuple(RENDERERS)


def render(report: Report, fmt: str) -> bytes:
    return RENDERERS[fmt](report)


def file_name(report: Report, fmt: str) -> str:
    return f"slurm-sla-report-{report.label}.{EXTENSIONS[fmt]}"

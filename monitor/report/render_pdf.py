"""``--format pdf``: the HTML report printed by WeasyPrint (the optional extra ``pdf``:
``pip install 'slurm-sla-monitor[pdf]'``), A4 as the HTML's ``@page`` rules say."""

from __future__ import annotations

from monitor.errors import MonitorError
from monitor.report import render_html
from monitor.report.model import Report

INSTALL_HINT = (
    "--format pdf needs WeasyPrint, an optional extra: "
    "pip install 'slurm-sla-monitor[pdf]' (or use --format html and print it)"
)


def render(report: Report) -> bytes:
    try:
        from weasyprint import HTML  # type: ignore[import-not-found]
    except (ImportError, OSError) as exc:  # OSError: the package is there, pango is not
        raise MonitorError(INSTALL_HINT) from exc
    # The HTML has no dcterms.created/modified: WeasyPrint then writes no date into the
    # PDF, and the same report gives the same bytes.
    title = f"SLA report {report.label}"
    return HTML(string=render_html.render(report, title=title)).write_pdf()

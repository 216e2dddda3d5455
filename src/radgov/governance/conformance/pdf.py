"""The conformance audit as HTML (the page's own template in its print layout)
and as PDF, rendered by WeasyPrint."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from radgov.governance.conformance.audit import AuditReport

TEMPLATE = "governance/conformance.html"
PAGE_LAYOUT = "web/base.html"
PRINT_LAYOUT = "governance/conformance_print.html"


def context(report: AuditReport, *, print: bool) -> dict[str, Any]:
    return {"report": report, "print": print, "layout": PRINT_LAYOUT if print else PAGE_LAYOUT}


def print_html(report: AuditReport) -> str:
    return render_to_string(TEMPLATE, context(report, print=True))


def render_pdf(report: AuditReport) -> bytes:
    from weasyprint import HTML

    return HTML(string=print_html(report)).write_pdf()  # type: ignore[no-any-return]


def filename(report: AuditReport, ext: str) -> str:
    return f"conformance-{report.generated_at:%Y-%m-%d-%H%M}.{ext}"

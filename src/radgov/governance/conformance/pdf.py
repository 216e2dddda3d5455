"""The conformance audit as HTML (the page's own template in its print layout)
and as PDF, rendered by WeasyPrint."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string

from radgov.core.exports import PDF, export_response
from radgov.core.pdf import render_pdf as render
from radgov.governance.conformance.audit import OBJECT_TYPE, AuditReport, to_json, totals_json

TEMPLATE = "governance/conformance.html"
PAGE_LAYOUT = "web/base.html"
PRINT_LAYOUT = "governance/conformance_print.html"


def context(report: AuditReport, *, print: bool) -> dict[str, Any]:
    return {"report": report, "print": print, "layout": PRINT_LAYOUT if print else PAGE_LAYOUT}


def print_html(report: AuditReport) -> str:
    return render_to_string(TEMPLATE, context(report, print=True))


def render_pdf(report: AuditReport) -> bytes:
    return render(print_html(report))


def filename(report: AuditReport, ext: str) -> str:
    return f"conformance-{report.generated_at:%Y-%m-%d-%H%M}.{ext}"


def download(report: AuditReport, fmt: str) -> HttpResponse:
    """The audit as a PDF or JSON attachment; the export is recorded in the audit trail."""
    if fmt == "pdf":
        body, kind = render_pdf(report), PDF
    else:
        body = (json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n").encode()
        kind = "application/json"
    return export_response(
        body,
        filename=filename(report, fmt),
        content_type=kind,
        object_type=OBJECT_TYPE,
        object_id=report.generated_at.isoformat(timespec="seconds"),
        detail=totals_json(report.totals),
    )

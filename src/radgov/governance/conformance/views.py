"""The conformance audit's page and its PDF and JSON downloads.  Every view runs
the audit live; reading it is recorded in the audit trail, a download as an export."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from radgov.governance.conformance import pdf
from radgov.governance.conformance.audit import record_access, run_audit, to_json


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    report = run_audit()
    record_access(report, action="read", fmt="html")
    return render(request, pdf.TEMPLATE, pdf.context(report, print=False))


@require_GET
def pdf_download(request: HttpRequest) -> HttpResponse:
    report = run_audit()
    body = pdf.render_pdf(report)
    record_access(report, action="export", fmt="pdf")
    out = HttpResponse(body, content_type="application/pdf")
    out["Content-Disposition"] = f'attachment; filename="{pdf.filename(report, "pdf")}"'
    return out


@require_GET
def json_download(request: HttpRequest) -> HttpResponse:
    report = run_audit()
    record_access(report, action="export", fmt="json")
    out = HttpResponse(
        json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n",
        content_type="application/json",
    )
    out["Content-Disposition"] = f'attachment; filename="{pdf.filename(report, "json")}"'
    return out

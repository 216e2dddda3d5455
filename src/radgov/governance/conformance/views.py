"""The conformance audit's page and its PDF and JSON downloads.  Every view runs
the audit live; reading it is recorded in the audit trail, a download as an export."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from radgov.governance.conformance import pdf
from radgov.governance.conformance.audit import record_access, run_audit
from radgov.governance.conformance.checks import Status
from radgov.web.views import job_started


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    report = run_audit()
    record_access(report, action="read", fmt="html")
    return render(request, pdf.TEMPLATE, pdf.context(report, print=False))


@require_POST
def pdf_download(request: HttpRequest) -> HttpResponse:
    """Queue the audit's PDF (made by the worker); its page offers the download."""
    return job_started(
        request, "governance.conformance_pdf", {}, back="governance:conformance_page"
    )


@require_GET
def json_download(request: HttpRequest) -> HttpResponse:
    return pdf.download(run_audit(), "json")


@require_GET
def failing(request: HttpRequest) -> HttpResponse:
    """The audit's failing lines, for the chair's dashboard (a fragment it loads)."""
    report = run_audit()
    record_access(report, action="read", fmt="html")
    sections = [("The practice", list(report.practice))]
    sections += [(s.label, list(s.lines)) for s in report.deployments]
    failing = [
        (where, [ln for ln in lines if ln.status == Status.FAIL]) for where, lines in sections
    ]
    failing = [(where, lines) for where, lines in failing if lines]
    return render(
        request,
        "governance/_conformance_failing.html",
        {"failing": failing, "count": report.totals.failed, "report": report},
    )

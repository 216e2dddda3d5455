"""The conformance audit on the API, mounted by the governance router at
``/api/governance/conformance`` (route names ``api:governance_conformance_*``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from radgov.governance.conformance import pdf
from radgov.governance.conformance.audit import record_access, run_audit, to_json

router = Router(tags=["governance"])


@router.get("", response=dict[str, Any])
def conformance_report(request: HttpRequest) -> dict[str, Any]:
    """The conformance audit, run now, as JSON (schema ``radgov-conformance/1``)."""
    report = run_audit()
    record_access(report, action="export", fmt="json")
    return to_json(report)


@router.get("/pdf")
def conformance_pdf(request: HttpRequest) -> HttpResponse:
    """The conformance audit, run now, as a PDF."""
    return pdf.download(run_audit(), "pdf")

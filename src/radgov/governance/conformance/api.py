"""The conformance audit on the API, mounted by the governance router at
``/api/governance/conformance`` (route names ``api:governance_conformance_*``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from radgov.core.jobs_api import JobOut, accepted
from radgov.governance.conformance.audit import record_access, run_audit, to_json

router = Router(tags=["governance"])


@router.get("", response=dict[str, Any])
def conformance_report(request: HttpRequest) -> dict[str, Any]:
    """The conformance audit, run now, as JSON (schema ``radgov-conformance/1``)."""
    report = run_audit()
    record_access(report, action="export", fmt="json")
    return to_json(report)


@router.post("/pdf", response={202: JobOut})
def conformance_pdf(request: HttpRequest) -> HttpResponse:
    """Queue the conformance audit as a PDF: 202 with the job (``Location``: follow it at
    ``/api/jobs/{id}``, fetch the file at its ``result``)."""
    return accepted(request, "governance.conformance_pdf", {})

"""The one way a page or the API hands a governed record out as a file (a PDF, a JSON
report): recorded in the audit trail as an export (DICOM 110106), sent as an attachment that
no cache keeps.  A page that renders a PDF while the person waits calls :func:`pdf_response`;
a long PDF is a job (``radgov.core.jobs``) whose download goes through :func:`export_response`."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpResponse

from radgov.core.audit import Action, EventCode, record
from radgov.core.pdf import render_pdf

PDF = "application/pdf"


def export_response(
    body: bytes,
    *,
    filename: str,
    content_type: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> HttpResponse:
    """``body`` as a download named ``filename``; the export is recorded (what, its format and
    size, and ``detail``) before the response leaves."""
    record(
        action=Action.EXPORT,
        event_code=EventCode.EXPORT,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        detail={"format": filename.rsplit(".", 1)[-1], "bytes": len(body), **(detail or {})},
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def pdf_response(
    html: str,
    *,
    filename: str,
    obj: models.Model | None = None,
    detail: dict[str, Any] | None = None,
) -> HttpResponse:
    """``html`` rendered as a PDF (:func:`radgov.core.pdf.render_pdf`) and handed out as
    :func:`export_response` does."""
    return export_response(
        render_pdf(html), filename=filename, content_type=PDF, obj=obj, detail=detail
    )

"""The one way a page or the API hands a governed record out as a file (a PDF, a JSON
report): recorded in the audit trail as an export (DICOM 110106), sent as an attachment that
no cache keeps."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpResponse

from radgov.core.audit import Action, EventCode, record


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

"""The meeting-notes PDF (IV.A.5: the group keeps meeting notes), rendered by
WeasyPrint from the same kind of HTML template as the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from radgov import __version__
from radgov.core.exports import export_response
from radgov.core.pdf import render_pdf
from radgov.governance import selectors
from radgov.governance.models import Meeting


def notes_context(meeting: Meeting) -> dict[str, Any]:
    context = selectors.meeting_record(meeting)
    context["generated_at"] = timezone.now()
    context["version"] = __version__
    return context


def notes_html(meeting: Meeting) -> str:
    return render_to_string("governance/meeting_notes_pdf.html", notes_context(meeting))


def notes_pdf(meeting: Meeting) -> bytes:
    body = render_pdf(notes_html(meeting))
    assert body is not None
    return body


def filename(meeting: Meeting) -> str:
    return f"meeting-{meeting.pk}-{meeting.held_on:%Y-%m-%d}.pdf"


def response(meeting: Meeting) -> HttpResponse:
    """The PDF as a download; the export is recorded in the audit trail."""
    return export_response(
        notes_pdf(meeting), filename=filename(meeting), content_type="application/pdf", obj=meeting
    )

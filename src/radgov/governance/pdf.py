"""The meeting-notes PDF (IV.A.5: the group keeps meeting notes), rendered by
WeasyPrint from the same kind of HTML template as the pages."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from radgov import __version__
from radgov.core.pdf import render_pdf
from radgov.governance import selectors
from radgov.governance.models import Meeting


def notes_context(meeting: Meeting, viewer: Any = None) -> dict[str, Any]:
    context = selectors.meeting_record(meeting, viewer=viewer)
    context["generated_at"] = timezone.now()
    context["version"] = __version__
    return context


def notes_html(meeting: Meeting, viewer: Any = None) -> str:
    return render_to_string("governance/meeting_notes_pdf.html", notes_context(meeting, viewer))


def notes_pdf(meeting: Meeting, viewer: Any = None) -> bytes:
    """The notes as ``viewer`` may read them (votes and conflicts per the group's settings);
    without a viewer, the full record."""
    return render_pdf(notes_html(meeting, viewer))


def filename(meeting: Meeting) -> str:
    return f"meeting-{meeting.pk}-{meeting.held_on:%Y-%m-%d}.pdf"

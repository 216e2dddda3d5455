"""The audit trail for a person: filters (who, what action, which object, when), pages,
what changed (before and after, as NetBox's change log shows it), links to the objects,
and export of what the filters select as FHIR AuditEvent, DICOM audit messages or CSV.
Reading the trail and exporting it are themselves recorded (110101, Audit Log Used)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from radgov.accounts.models import User
from radgov.core.audit.codes import Action
from radgov.core.audit.selectors import export_entries, search_entries
from radgov.core.bounds import EARLIEST

PER_PAGE = 50
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "fhir": ("application/fhir+ndjson", "ndjson"),
    "dicom": ("application/xml", "xml"),
}
# object type -> (route, the route's keyword for the object's id)
OBJECT_ROUTES = {
    "inventory.product": ("inventory:product", "pk"),
    "inventory.modelversion": ("inventory:version", "pk"),
    "inventory.deployment": ("inventory:deployment", "pk"),
    "inventory.document": ("inventory:document", "pk"),
    "governance.meeting": ("governance:meeting", "meeting_id"),
    "governance.modelrequest": ("governance:request", "request_id"),
    "governance.issuereport": ("governance:issue_update", "issue_id"),
    "evaluation.acceptanceprotocol": ("evaluation:protocol", "protocol_id"),
    "evaluation.acceptancerun": ("evaluation:run", "run_id"),
    "training.trainingprocedure": ("training:procedure", "procedure_id"),
    "compliance.deidjob": ("compliance:deid_job", "job_id"),
}
SHOWN = 80  # characters of a changed value shown in the table (the export has them all)


class AuditFilterForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), required=False, empty_label="anyone"
    )
    action = forms.ChoiceField(required=False, choices=[("", "any")] + [(a, a) for a in Action])
    object_type = forms.CharField(
        required=False, max_length=100, label="Object type", help_text="e.g. inventory.deployment"
    )
    object_id = forms.CharField(required=False, max_length=255, label="Object id")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        required=False, label="Until (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        for name in ("since", "until"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day <= timezone.localdate():
                self.add_error(name, f"{day:%Y-%m-%d} is not a day the trail can hold")
        if since and until and since > until:
            self.add_error("until", "the range ends before it starts")
        return data

    def filters(self) -> dict[str, Any]:
        """The selectors' filters (empty when the form is not valid)."""
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        return {
            "actor_id": d["person"].pk if d["person"] else None,
            "action": d["action"] or None,
            "object_type": d["object_type"].strip() or None,
            "object_id": d["object_id"].strip() or None,
            "since": _day(d["since"]),
            "until": _day(d["until"], end=True),
        }


def _day(day: dt.date | None, *, end: bool = False) -> dt.datetime | None:
    if day is None:
        return None
    start = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time())
    return timezone.make_aware(start, dt.UTC)


def object_url(object_type: str, object_id: str) -> str | None:
    route = OBJECT_ROUTES.get(object_type)
    if route is None or not object_id.isdigit():
        return None
    try:
        return reverse(route[0], kwargs={route[1]: int(object_id)})
    except NoReverseMatch:
        return None


def _short(value: Any) -> str | None:
    """The value as shown (None when there was none: a field created or deleted)."""
    if value is None:
        return None
    text = "“”" if value == "" else str(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def changes_of(entry: Any) -> list[tuple[str, str | None, str | None]]:
    """(field, before, after) of the entry's recorded changes, values shortened; before is
    None for a field a create set, after None for one a delete removed."""
    out = []
    for name, pair in sorted(entry.changes.items()):
        before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        out.append((name, _short(before), _short(after)))
    return out


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    try:
        number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        number = 1
    entries, total = search_entries(
        request.user, filters=filters, offset=(number - 1) * PER_PAGE, limit=PER_PAGE
    )
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    query = request.GET.copy()
    query.pop("page", None)
    rows = [
        {"e": e, "url": object_url(e.object_type, e.object_id), "changes": changes_of(e)}
        for e in entries
    ]
    return render(
        request,
        "web/audit.html",
        {
            "form": form,
            "rows": rows,
            "total": total,
            "page": min(number, pages),
            "pages": pages,
            "query": query.urlencode(),
            "formats": FORMATS,
        },
    )


@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """The entries the filters select, oldest first, as a download; the export is recorded
    with the filters."""
    fmt = request.GET.get("format", "")
    form = AuditFilterForm(request.GET)
    if fmt not in FORMATS or not form.is_valid():
        return HttpResponse(
            "choose a format (csv, fhir, dicom) and valid filters",
            status=400,
            content_type="text/plain",
        )
    filters = form.filters()
    since = filters.pop("since") or _day(EARLIEST)
    until = filters.pop("until")
    out = io.StringIO()
    export_entries(fmt, out, since=since, until=until, user=request.user, filters=filters)
    content_type, suffix = FORMATS[fmt]
    response = HttpResponse(out.getvalue(), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="radgov-audit-{stamp}.{suffix}"'
    return response

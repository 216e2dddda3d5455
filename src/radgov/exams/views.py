"""The exams pages: the AI worklist and a study's status.  Thin: they read through the
selectors (which restrict and audit) and write nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from radgov.core.errors import denied_page
from radgov.core.paging import DEFAULT_LIMIT, PageQuery
from radgov.exams import access, selectors
from radgov.exams.errors import ExamError, NotPermitted
from radgov.exams.statuses import Status
from radgov.inventory.models import Deployment


def _offset(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        return 0


def _link(params: dict[str, str], **changes: Any) -> str:
    """A query string: the current filters with ``changes`` (None or "" drops a key)."""
    merged = dict(params)
    for key, value in changes.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return "?" + urlencode(merged)


def _shown(found: dict[str, Any]) -> dict[str, Any]:
    """A page of core's paging with what the page shows: rows first to last of the total,
    and the offsets of the pages before and after (None at either end)."""
    offset, limit, total = found["offset"], found["limit"], found["total"]
    return {
        **found,
        "first": offset + 1 if found["items"] else 0,
        "last": offset + len(found["items"]),
        "previous": max(offset - limit, 0) if offset > 0 else None,
        "next": offset + limit if offset + limit < total else None,
    }


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    """Inferences by deployment and status, with counts per status, filters and paging."""
    error = ""
    try:
        filters = selectors.Filters.parse(request.GET)
    except ExamError as exc:
        filters, error = selectors.Filters(), f"Filters not applied: {exc}"
    try:
        found = selectors.inferences(
            request.user,
            filters,
            PageQuery(limit=DEFAULT_LIMIT, offset=_offset(request)),
            what="worklist",
        )
        counts = selectors.status_counts(request.user, filters)
    except NotPermitted as exc:
        return denied_page(request, exc)
    params = filters.as_params()
    page = _shown(found)
    context = {
        "page": page,
        "filters": filters,
        "error": error,
        "total": sum(counts.values()),
        "statuses": [
            (s.value, s.label, counts[s.value], _link(params, status=s.value, offset=None))
            for s in Status
        ],
        "all_link": _link(params, status=None, offset=None),
        "previous_link": _link(params, offset=page["previous"])
        if page["previous"] is not None
        else "",
        "next_link": _link(params, offset=page["next"]) if page["next"] is not None else "",
        "deployments": Deployment.objects.select_related("model_version__product__company").filter(
            pk__in=Deployment.objects.filter(inferences__isnull=False).values("pk")
        ),
        "sites": sorted(set(Deployment.objects.values_list("site", flat=True))),
    }
    return render(request, "exams/worklist.html", context, status=400 if error else 200)


@require_GET
def study(request: HttpRequest, pk: int) -> HttpResponse:
    """What each model did with one study, with its timeline; identifiers for the roles
    that may see them.  Reading it is recorded in the audit trail."""
    try:
        view = selectors.study(request.user, pk)
    except NotPermitted as exc:
        return denied_page(request, exc)
    if view is None:
        raise Http404("no such exam")
    context = {
        "exam": view.exam,
        "inferences": view.inferences,
        "identifiers": view.identifiers,
        "may_see_identifiers": access.may_see_identifiers(request.user),
    }
    return render(request, "exams/study.html", context)

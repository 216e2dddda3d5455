"""Reads of the audit trail.  Listing entries is itself recorded (110101,
Audit Log Used); who may call these is decided by the permission policy of the
view or endpoint that calls them."""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

from radgov.core.audit.codes import Action, EventCode
from radgov.core.audit.writer import record
from radgov.core.models import AuditEntry
from radgov.core.paging import PageQuery, paginate

MAX_LIMIT = 1000
LOOKUPS = {
    "since": "timestamp__gte",
    "until": "timestamp__lt",
    "action": "action",
    "object_type": "object_type",
    "object_id": "object_id",
    "actor_id": "actor_id",
}


def _matching(given: dict[str, Any]) -> Any:
    given = {name: value for name, value in given.items() if value is not None}
    return given, AuditEntry.objects.filter(
        **{LOOKUPS[name]: value for name, value in given.items()}
    )


def _record_read(user: Any, purpose: str, given: dict[str, Any], count: int, **more: Any) -> None:
    """Record a read of the trail (110101): its purpose, the filters and how many entries
    were returned, never the entries themselves."""
    actor = user if getattr(user, "is_authenticated", False) else None
    record(
        action=Action.READ,
        object_type="core.auditentry",
        event_code=EventCode.AUDIT_LOG_USED,
        detail={
            "purpose": purpose,
            "filters": {name: str(value) for name, value in given.items()},
            "count": count,
            **more,
        },
        actor=actor,
    )


def list_entries(
    user: Any,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest entries first, filtered; records the read (with the filters, not the results)."""
    given, qs = _matching(
        {
            "since": since,
            "until": until,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "actor_id": actor_id,
        }
    )
    limit = min(max(int(limit), 1), MAX_LIMIT)
    entries = list(qs.order_by("-id")[:limit])
    _record_read(user, "list", given, len(entries))
    return entries


def page_of_entries(user: Any, page: PageQuery, **filters: Any) -> dict[str, Any]:
    """One page of the entries matching ``filters`` (the names of ``LOOKUPS``), newest first,
    with the total; records the read (the filters and the page, not the results)."""
    given, qs = _matching(filters)
    result = paginate(qs.order_by("-id"), page)
    _record_read(
        user, "list", given, len(result["items"]), offset=page.offset, total=result["total"]
    )
    return result


def count_entries() -> int:
    """How many entries the trail holds (reveals no content, so not recorded): the chain
    heads' numbers added up, since each stripe's entries are numbered from 1 without gaps,
    instead of counting a table of millions."""
    from django.db.models import Sum

    from radgov.core.models import AuditHead

    return AuditHead.objects.aggregate(total=Sum("seq"))["total"] or 0


def export_entries(
    fmt: str,
    out: IO[str],
    *,
    since: datetime,
    until: datetime | None = None,
    user: Any = None,
    actor_name: str | None = None,
    filters: dict[str, Any] | None = None,
) -> int:
    """Write entries with since <= timestamp < until (and the ``filters`` of
    :func:`search_entries`, if any), in the order they were appended, as FHIR AuditEvent NDJSON (``fhir``),
    DICOM audit message XML (``dicom``) or CSV (``csv``); records the export (110101,
    Audit Log Used) with the filters.  Returns the count."""
    from radgov.core.audit import export_csv, export_dicom, export_fhir

    writers = {
        "fhir": export_fhir.write_ndjson,
        "dicom": export_dicom.write_xml,
        "csv": export_csv.write_csv,
    }
    if fmt not in writers:
        raise ValueError(f"unknown export format {fmt!r}; use fhir, dicom or csv")
    qs = AuditEntry.objects.filter(timestamp__gte=since).order_by("id")
    if until is not None:
        qs = qs.filter(timestamp__lt=until)
    given = {name: value for name, value in (filters or {}).items() if value not in (None, "")}
    qs = qs.filter(**{LOOKUPS[name]: value for name, value in given.items()})
    count = writers[fmt](qs.iterator(chunk_size=2000), out)
    detail = {
        "format": fmt,
        "since": since.isoformat(),
        "until": until.isoformat() if until else None,
        "count": count,
    }
    if given:
        detail["filters"] = {name: str(value) for name, value in given.items()}
    record(
        action=Action.EXPORT,
        object_type="core.auditentry",
        event_code=EventCode.AUDIT_LOG_USED,
        detail=detail,
        actor=user if getattr(user, "is_authenticated", False) else None,
        actor_name=actor_name,
    )
    return count


def search_entries(
    user: Any, *, filters: dict[str, Any], offset: int = 0, limit: int = 50
) -> tuple[list[AuditEntry], int]:
    """One page of the entries matching ``filters`` (the keys of ``LOOKUPS``), newest first,
    and how many match; records the read with the filters and the page (110101)."""
    given = {name: value for name, value in filters.items() if value not in (None, "")}
    unknown = set(given) - set(LOOKUPS)
    if unknown:
        raise ValueError(f"unknown audit filters: {', '.join(sorted(unknown))}")
    limit = min(max(int(limit), 1), MAX_LIMIT)
    qs = AuditEntry.objects.filter(**{LOOKUPS[name]: value for name, value in given.items()})
    total = qs.count()
    entries = list(qs.order_by("-id")[max(offset, 0) : max(offset, 0) + limit])
    _record_read(user, "search", given, len(entries), offset=offset, total=total)
    return entries, total

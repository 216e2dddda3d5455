from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema

from radgov.core.audit.selectors import page_of_entries
from radgov.core.paging import Page, PageQuery

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    stripe: int
    seq: int
    timestamp: datetime
    actor_id: int | None
    actor_name: str
    client_address: str
    action: str
    event_code: str
    object_type: str
    object_id: str
    outcome: str
    detail: dict | None
    entry_hash: str


class AuditEntryFilter(Schema):
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    actor_id: int | None = None


@router.get("/entries", response=Page[AuditEntryOut])
def list_audit_entries(
    request: HttpRequest, filters: Query[AuditEntryFilter], page: Query[PageQuery]
) -> dict[str, object]:
    """The newest entries first; reading the trail is itself recorded (110101)."""
    return page_of_entries(request.user, page, **filters.dict())

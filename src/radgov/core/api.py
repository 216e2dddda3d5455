from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from radgov.core.audit.selectors import list_entries

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
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


@router.get("/entries", response=list[AuditEntryOut])
def list_audit_entries(
    request: HttpRequest, since: datetime | None = None, limit: int = 100
) -> list[object]:
    """The newest entries first; reading the trail is itself recorded (110101)."""
    return list(list_entries(request.user, since=since, limit=min(max(limit, 1), 1000)))

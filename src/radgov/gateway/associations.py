"""The association log (docs/gateway.md, "The association log"): one row per association
with the listener, written when it ends or is refused, and the page's read of it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from radgov.core.services import service
from radgov.gateway.models import Association

SHOWN = 200


@service
def record(
    *,
    calling_ae: str,
    address: str,
    peer: Any,
    accepted: bool,
    reason: str = "",
    stored: int = 0,
    refused: int = 0,
    ended: str = "",
) -> Association:
    return Association.objects.create(
        calling_ae=calling_ae[:16],
        address=address[:64],
        peer=peer,
        accepted=accepted,
        reason=reason[:200],
        stored=stored,
        refused=refused,
        ended=ended,
    )


def latest() -> QuerySet[Association]:
    return Association.objects.select_related("peer").order_by("-recorded_at", "-id")[:SHOWN]

"""The association log (docs/gateway.md, "The association log"): one row per association
with the listener, written when it is refused (before the peer is told) or, for one that
was accepted, after it ended (by the listener's recorder, with the images' groups); and the
page's read of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from radgov.core.audit import Action, EventCode, batch
from radgov.core.services import service
from radgov.gateway.models import Association

SHOWN = 200


@dataclass(frozen=True)
class Ended:
    """An accepted association that ended, waiting for its row in the listener's recorder."""

    calling_ae: str
    address: str
    peer: Any
    ended: str  # released or aborted
    stored: int
    refused: int


@service
def record_refused(*, calling_ae: str, address: str, peer: Any, reason: str) -> Association:
    return Association.objects.create(
        calling_ae=calling_ae[:16],
        address=address[:64],
        peer=peer,
        accepted=False,
        reason=reason[:200],
    )


@service
def record_ended(ends: list[Ended]) -> None:
    """The rows of accepted associations that ended, in one transaction and one audit
    entry (a batch: their count and digest)."""
    with batch(action=Action.CREATE, event_code=EventCode.NETWORK_ENTRY):
        Association.objects.bulk_create(
            Association(
                calling_ae=end.calling_ae[:16],
                address=end.address[:64],
                peer=end.peer,
                accepted=True,
                ended=end.ended,
                stored=end.stored,
                refused=end.refused,
            )
            for end in ends
        )


def latest() -> QuerySet[Association]:
    return Association.objects.select_related("peer").order_by("-recorded_at", "-id")[:SHOWN]

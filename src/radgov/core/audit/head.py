"""The chain head: the one row every writer locks, so the chain cannot fork.

On PostgreSQL ``select_for_update()`` holds the row until the writer's
transaction ends; the next writer then reads the new head.  On SQLite
``select_for_update`` is a no-op, but radgov's connections open every
transaction with ``BEGIN IMMEDIATE`` (settings ``transaction_mode``), which
takes the database write lock first, so writers are serialized all the same.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from radgov.core.audit.chain import GENESIS
from radgov.core.models import AuditEntry, AuditHead

HEAD_PK = 1


def lock_head() -> AuditHead:
    """Lock and return the head; call inside ``transaction.atomic()``.

    The row is created on first use (and re-created from the last entry if it
    was removed), so a fresh or flushed database needs no set-up."""
    head = AuditHead.objects.select_for_update().filter(pk=HEAD_PK).first()
    if head is not None:
        return head
    last = AuditEntry.objects.order_by("-seq").values("seq", "entry_hash").first()
    try:
        with transaction.atomic():
            AuditHead.objects.create(
                pk=HEAD_PK,
                seq=last["seq"] if last else 0,
                entry_hash=last["entry_hash"] if last else GENESIS,
            )
    except IntegrityError:
        pass  # another writer created it first; lock theirs
    return AuditHead.objects.select_for_update().get(pk=HEAD_PK)


def advance_head(seq: int, entry_hash: str) -> None:
    AuditHead.objects.filter(pk=HEAD_PK).update(seq=seq, entry_hash=entry_hash)

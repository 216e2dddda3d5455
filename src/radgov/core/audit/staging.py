"""Entries that commit first and join the chain right after (PostgreSQL).

A transaction that holds the chain's head until it commits makes every writer wait for every
other writer's ``fdatasync``: on ordinary disks that is 5 ms a commit, so eight writers
commit little more than one does.  On PostgreSQL an outermost transaction therefore does not
touch the head: its entries go into ``AuditStaged`` (one row, no lock shared with anyone)
and commit with its writes; then, still before the service returns, ``sequence`` locks the
head and appends every staged entry, its own and any other writer's, oldest first, in a
short transaction that needs no wait for the disk (``synchronous_commit`` off: if the machine
dies before it reaches the disk, the staged rows are still there and are appended again).
A transaction that signs a checkpoint commits synchronously, because the anchor file outside
the database names it.  Writers overlap everything but that short append.

What an outermost transaction committed is in the database whatever happens next; until it
is appended it is not yet covered by the hash chain (normally milliseconds; after a crash,
until the next write, the worker's minute task or ``radgov audit verify``, each of which
appends first).  Inside a longer transaction (a test's, or a caller's ``atomic()``) and on
SQLite, whose ``BEGIN IMMEDIATE`` serialises whole transactions anyway, entries are appended
in the transaction that wrote them, as before.  See docs/decisions/0002-audit-at-volume.md.
"""

from __future__ import annotations

import json
import logging

from django.db import DatabaseError, connection, transaction

from radgov.core.audit.checkpoint import CHECKPOINT_EVERY
from radgov.core.models import AuditEntry, AuditStaged

FIELDS = (
    "actor_id",
    "actor_name",
    "actor_role",
    "client_address",
    "request_id",
    "channel",
    "action",
    "event_code",
    "object_type",
    "object_id",
    "outcome",
    "detail_json",
    "changes_json",
)
SEQUENCE_BATCH = 5000  # staged rows appended per transaction

log = logging.getLogger(__name__)
# staged row key -> the writer's entry objects, while the writer waits for its sequencer
_waiting: dict[int, list[AuditEntry]] = {}


def staged_here() -> bool:
    """True when a transaction opened now is outermost, on PostgreSQL: its entries are
    staged and appended after its commit."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def stage(entries: list[AuditEntry]) -> int | None:
    """Keep ``entries`` for the chain, in the caller's transaction; returns the staged row's
    key.  Whichever sequencer of this process appends them fills in the objects' ``seq``,
    timestamp and hashes, as ``append`` does."""
    if not entries:
        return None
    rows = [{name: getattr(entry, name) for name in FIELDS} for entry in entries]
    key = AuditStaged.objects.create(entries_json=json.dumps(rows, separators=(",", ":"))).pk
    _waiting[key] = entries
    return key


def sequence() -> int:
    """Append every committed staged entry to the chain, oldest first; returns how many."""
    total = 0
    while True:
        appended, more = _sequence_batch()
        total += appended
        if not more:
            return total


def sequence_after_commit(key: int | None) -> None:
    """``sequence``, for a writer whose transaction has committed: its work stands whatever
    happens here, so a failure is logged, not raised, and the next sequencer (any writer's,
    the worker's minute task, ``radgov audit verify``) appends the entries."""
    try:
        sequence()
    except DatabaseError:
        log.exception("committed audit entries wait for the chain; the next sequencer appends them")
    finally:
        _waiting.pop(key, None)


def _sequence_batch() -> tuple[int, bool]:
    from radgov.core.audit.head import lock_head
    from radgov.core.audit.writer import chain

    outermost = not connection.in_atomic_block
    with transaction.atomic():
        head = lock_head()  # one sequencer at a time; the next sees what this one deleted
        staged = AuditStaged.objects.order_by("id").values_list("id", "entries_json")
        rows = list(staged[:SEQUENCE_BATCH])
        entries = [entry for key, text in rows for entry in _entries(key, text)]
        if not entries:
            return 0, False
        checkpoint = (head.seq + len(entries)) // CHECKPOINT_EVERY > head.seq // CHECKPOINT_EVERY
        if outermost and connection.vendor == "postgresql" and not checkpoint:
            # no checkpoint, so no anchor file that must match what reached the disk
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        chain(head, entries)
        # by key: a row committed after the read above is not in ``rows`` and must stay
        AuditStaged.objects.filter(id__in=[key for key, _ in rows]).delete()
    return len(entries), len(rows) == SEQUENCE_BATCH


def _entries(key: int, text: str) -> list[AuditEntry]:
    """The staged entries, as the writer's own objects when it is in this process (so they
    come back to it numbered and hashed), else as new ones from the stored fields."""
    mine = _waiting.get(key)
    if mine is not None and all(entry.pk is None for entry in mine):
        return mine
    return [AuditEntry(**fields) for fields in json.loads(text)]

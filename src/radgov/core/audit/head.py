"""The chain head: the one row every writer locks, so the chain cannot fork.

On PostgreSQL ``select_for_update()`` holds the row until the writer's
transaction ends; the next writer then reads the new head.  On SQLite
``select_for_update`` is a no-op, but radgov's connections open every
transaction with ``BEGIN IMMEDIATE`` (settings ``transaction_mode``), which
takes the database write lock first, so writers are serialized all the same.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from radgov.core.audit.chain import GENESIS
from radgov.core.models import AuditEntry, AuditHead

HEAD_PK = 1


def lock_head() -> AuditHead:
    """Lock and return the head; call inside ``transaction.atomic()``.

    The row is created on first use (and re-created from the last entry if it
    was removed), so a fresh or flushed database needs no set-up."""
    head = _locked_row() if connection.vendor == "postgresql" else None
    if head is None:
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


def _locked_row() -> AuditHead | None:
    """The head, locked, in a statement without the ORM's cost (every audited commit runs it)."""
    from psycopg import sql

    statement = sql.SQL("SELECT seq, entry_hash FROM {} WHERE id = %s FOR UPDATE").format(
        sql.Identifier(AuditHead._meta.db_table)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [HEAD_PK])
        row = cursor.fetchone()
    return None if row is None else AuditHead(pk=HEAD_PK, seq=row[0], entry_hash=row[1])


def advance_head(seq: int, entry_hash: str) -> None:
    AuditHead.objects.filter(pk=HEAD_PK).update(seq=seq, entry_hash=entry_hash)


def insert_and_advance(entries: list[AuditEntry], seq: int, entry_hash: str) -> None:
    """PostgreSQL: insert the numbered entries and move the head in one statement (the
    append's two writes, one round trip); the entries get their database ids."""
    from psycopg import sql

    columns = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    row = sql.SQL("({})").format(sql.SQL(", ").join([sql.Placeholder()] * len(columns)))
    statement = sql.SQL(
        "WITH added AS (INSERT INTO {entries} ({columns}) VALUES {rows} RETURNING id) "
        "UPDATE {head} SET seq = %s, entry_hash = %s WHERE id = %s "
        "RETURNING (SELECT array_agg(id ORDER BY id) FROM added)"
    ).format(
        entries=sql.Identifier(AuditEntry._meta.db_table),
        columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in columns),
        rows=sql.SQL(", ").join([row] * len(entries)),
        head=sql.Identifier(AuditHead._meta.db_table),
    )
    values = [getattr(e, f.attname) for e in entries for f in columns]
    with connection.cursor() as cursor:
        cursor.execute(statement, [*values, seq, entry_hash, HEAD_PK])
        ids = cursor.fetchone()[0]
    for entry, pk in zip(entries, ids, strict=True):
        entry.pk = pk
        entry._state.adding = False

"""The chain heads: one row per stripe, locked by the writer appending to that stripe.

The trail is ``stripes()`` chains (stripes) side by side; an append takes the first head no
other transaction holds (``FOR UPDATE SKIP LOCKED``), so concurrent writers append to
different stripes instead of queueing for one row, and waits for one only when every
stripe's head is held.  Head rows are made as they are first needed: the next stripe's when
all the existing ones are held.  Head ``pk`` is the stripe + 1; stripe 0 (pk 1) is the one a lone
writer always gets, and the lock that serialises checkpoints.

On PostgreSQL ``FOR UPDATE`` holds the row until the writer's transaction ends; the next
writer on that stripe then reads the new head.  On SQLite there is one stripe: radgov's
connections open every transaction with ``BEGIN IMMEDIATE`` (settings
``transaction_mode``), which takes the database write lock first, so writers are
serialised anyway.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction

from radgov.core.audit import chain, pending
from radgov.core.audit.chain import GENESIS
from radgov.core.models import AuditEntry, AuditHead

POSTGRESQL_STRIPES = 8


def stripes() -> int:
    """How many stripes appends spread over (``AUDIT_STRIPES``; 8 on PostgreSQL, 1 else)."""
    count = getattr(settings, "AUDIT_STRIPES", None)
    if count is None:
        return POSTGRESQL_STRIPES if connection.vendor == "postgresql" else 1
    if not isinstance(count, int) or not 1 <= count <= 1000:
        raise ValueError(f"AUDIT_STRIPES must be a whole number from 1 to 1000, not {count!r}")
    return count


def lock_head(stripe: int | None = None) -> AuditHead:
    """Lock and return a head (``stripe``'s; else the one this transaction already holds, so
    a transaction stays on one stripe and never waits for a second head; else the first free
    one); call inside ``transaction.atomic()``.

    A head row is created on first use (and re-created from its stripe's last entry if it
    was removed), so a fresh or flushed database needs no set-up."""
    if stripe is None:
        stripe = held_stripe()
    if stripe is None:
        count = stripes()
        head = _free_row(count) if connection.vendor == "postgresql" and count > 1 else None
        if head is not None:
            _held(head.pk - 1)
            return head
        stripe = _missing_stripe(count)
    head = _locked_row(stripe) if connection.vendor == "postgresql" else None
    if head is None:
        head = AuditHead.objects.select_for_update().filter(pk=stripe + 1).first()
    if head is not None:
        _held(stripe)
        return head
    last = (
        AuditEntry.objects.filter(stripe=stripe)
        .order_by("-seq")
        .values("seq", "entry_hash")
        .first()
    )
    try:
        with transaction.atomic():
            AuditHead.objects.create(
                pk=stripe + 1,
                seq=last["seq"] if last else 0,
                entry_hash=last["entry_hash"] if last else GENESIS,
            )
    except IntegrityError:
        pass  # another writer created it first; lock theirs
    made: AuditHead = AuditHead.objects.select_for_update().get(pk=stripe + 1)
    _held(stripe)
    return made


def _held(stripe: int) -> None:
    """Remember that this transaction holds ``stripe``'s head, until it ends or the savepoint
    that took the lock is rolled back (which releases the lock too): a marker on the
    connection's on-commit list says which (``pending``)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    held = getattr(wrapper, "radgov_audit_head", None)
    if held is None or held[0] != stripe or not pending.is_pending(held[1]):
        marker = pending.Marker(tuple(wrapper.savepoint_ids))
        wrapper.on_commit(marker)
        wrapper.radgov_audit_head = (stripe, marker)


def held_stripe() -> int | None:
    held = getattr(connections[DEFAULT_DB_ALIAS], "radgov_audit_head", None)
    return held[0] if held is not None and pending.is_pending(held[1]) else None


def _missing_stripe(count: int) -> int:
    """The lowest stripe without a head row yet (made on first use), else one to queue for:
    every head is held."""
    if count == 1:  # stripe 0 either way: no need to ask
        return 0
    made = set(AuditHead.objects.filter(pk__lte=count).values_list("pk", flat=True))
    return next((s for s in range(count) if s + 1 not in made), os.getpid() % count)


def _table() -> object:
    from psycopg import sql

    return sql.Identifier(AuditHead._meta.db_table)


@functools.lru_cache(maxsize=64)
def _composed(text: str) -> str:
    """``text`` with ``{head}``, ``{entries}``, ``{columns}`` and ``{given}`` filled in: the
    audit tables' quoted names, an entry's columns but its key, and those of them its writer
    supplies (``_GIVEN``).  Composed once per text, not on every call."""
    from psycopg import sql

    def names(columns: Iterable[str]) -> object:
        return sql.SQL(", ").join(map(sql.Identifier, columns))

    return (
        sql.SQL(text)
        .format(
            head=_table(),
            entries=sql.Identifier(AuditEntry._meta.db_table),
            columns=names(f.column for f in _entry_columns()),
            given=names(_GIVEN),
        )
        .as_string(connection.connection)
    )


def _entry_columns() -> list[Any]:
    return [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]


def _free_row(count: int) -> AuditHead | None:
    """The first head among ``count`` that no other transaction holds, locked."""
    statement = _composed(
        "SELECT id, seq, entry_hash FROM {head} WHERE id <= %s "
        "ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [count])
        row = cursor.fetchone()
    return None if row is None else AuditHead(pk=row[0], seq=row[1], entry_hash=row[2])


def _locked_row(stripe: int) -> AuditHead | None:
    """``stripe``'s head, locked, in a statement without the ORM's cost."""
    statement = _composed("SELECT seq, entry_hash FROM {head} WHERE id = %s FOR UPDATE")
    with connection.cursor() as cursor:
        cursor.execute(statement, [stripe + 1])
        row = cursor.fetchone()
    return None if row is None else AuditHead(pk=stripe + 1, seq=row[0], entry_hash=row[1])


def advance_head(head: AuditHead, seq: int, entry_hash: str) -> None:
    AuditHead.objects.filter(pk=head.pk).update(seq=seq, entry_hash=entry_hash)


def insert_and_advance(
    head: AuditHead, entries: list[AuditEntry], seq: int, entry_hash: str
) -> None:
    """PostgreSQL: insert the numbered entries and move ``head`` in one statement (the
    append's two writes, one round trip); the entries get their database ids."""
    columns = _entry_columns()
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    statement = _composed(
        "WITH added AS (INSERT INTO {entries} ({columns}) VALUES "  # noqa: S608 - placeholders only
        + ", ".join([row] * len(entries))
        + " RETURNING id) UPDATE {head} SET seq = %s, entry_hash = %s WHERE id = %s "
        "RETURNING (SELECT array_agg(id ORDER BY id) FROM added)"
    )
    values = [getattr(e, f.attname) for e in entries for f in columns]
    with connection.cursor() as cursor:
        cursor.execute(statement, [*values, seq, entry_hash, head.pk])
        ids = cursor.fetchone()[0]
    for entry, pk in zip(entries, ids, strict=True):
        entry.pk = pk
        entry._state.adding = False


# the columns an entry's writer supplies (hashed, but for the seq); the stripe, seq and
# hashes come from the head
_GIVEN = tuple(name for name in chain.HASHED_FIELDS if name != "seq")
_CASTS = {"timestamp": "::timestamptz", "actor_id": "::bigint"}


@functools.cache
def _append_one_sql(held: bool) -> str:
    """The one statement of ``append_one``: take the first free head of the first ``%s``
    (or, ``held``, the head of pk ``%s`` this transaction holds already), number and hash the
    entry from it, insert the entry, move the head."""
    take = (
        "WHERE id = %s FOR UPDATE"
        if held
        else "WHERE id <= %s ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1"
    )
    values = ", ".join("%s" + _CASTS.get(name, "") for name in _GIVEN)
    return _composed(
        f"WITH head AS (SELECT id, seq, entry_hash FROM {{head}} {take}), "  # noqa: S608 - constants
        "made AS (SELECT id - 1 AS stripe, seq + 1 AS seq, entry_hash AS prev_hash, "
        "encode(sha256(convert_to(entry_hash || %s || (seq + 1)::text || "
        "CASE WHEN id > 1 THEN ',\"stripe\":' || (id - 1)::text ELSE '' END || %s, 'UTF8')), "
        "'hex') AS entry_hash FROM head), "
        "added AS (INSERT INTO {entries} (stripe, seq, prev_hash, entry_hash, {given}) "
        f"SELECT stripe, seq, prev_hash, entry_hash, {values} FROM made "
        "RETURNING id, stripe, seq, prev_hash, entry_hash) "
        "UPDATE {head} SET seq = added.seq, entry_hash = added.entry_hash FROM added "
        "WHERE {head}.id = added.stripe + 1 "
        "RETURNING added.id, added.stripe, added.seq, added.prev_hash, added.entry_hash"
    )


def _execute_prepared(statement: str, params: list[Any]) -> Any:
    """Run ``statement`` so that PostgreSQL parses and plans it once per connection: bound
    on the server and prepared on first use (psycopg prepares only while the connection's
    ``prepare_threshold`` allows it, which Django leaves off; it is on for this one
    statement).  Wrapped as Django wraps its cursors, so the statement is counted and logged
    like any other.  Returns the first row."""
    import psycopg

    wrapper = connections[DEFAULT_DB_ALIAS]
    logged = wrapper.queries_logged
    wrap = wrapper.make_debug_cursor if logged else wrapper.make_cursor
    raw = wrapper.connection
    threshold = raw.prepare_threshold
    raw.prepare_threshold = 0
    try:
        with wrap(psycopg.Cursor(raw)) as cursor:
            cursor.execute(statement, params)
            row = cursor.fetchone()
    finally:
        raw.prepare_threshold = threshold
    if logged and wrapper.queries_log[-1]["sql"] is None:
        wrapper.queries_log[-1]["sql"] = statement  # psycopg keeps no text of a prepared one
    return row


def append_one(entry: AuditEntry) -> bool:
    """PostgreSQL, one entry: the whole append in one statement (one round trip instead of
    two).  The database takes the head this transaction holds, else a free head among the
    first ``stripes()`` (``FOR UPDATE SKIP LOCKED``), numbers the entry after it and hashes
    it with SHA-256 from the canonical text around its seq (``chain.canonical_around_seq``),
    inserts it and moves the head.  The hash is computed again here and must agree, or the
    append fails.  False, with nothing written, when every head is held by others or the
    head is missing: take the long way."""
    held = held_stripe()
    before, after = chain.canonical_around_seq(entry.__dict__)
    values = [getattr(entry, name) for name in _GIVEN]
    statement = _append_one_sql(held is not None)
    which = stripes() if held is None else held + 1
    row = _execute_prepared(statement, [which, before, after, *values])
    if row is None:
        return False
    entry.pk, entry.stripe, entry.seq, entry.prev_hash, entry.entry_hash = row
    entry._state.adding = False
    canonical = chain.canonical_with(before, after, entry.seq, entry.stripe)
    if hashlib.sha256(entry.prev_hash.encode("ascii") + canonical).hexdigest() != entry.entry_hash:
        raise RuntimeError("the database hashed an audit entry differently from the chain's rule")
    _held(entry.stripe)
    return True

"""``ingest``: many new rows of an audited model at machine pace, inside one audit batch.

    with batch(action=Action.IMPORT, detail={"source": "inference-feed"}):
        keys = Inference.objects.ingest(["exam_id", "status", "score", ...], rows)

``rows`` are plain tuples in the order of ``columns`` (attribute names: ``exam_id``, not
``exam``), as a parser hands them over; no model instance is made.  On PostgreSQL the keys are
drawn from the table's sequence in one query and the rows go in with ``COPY``, several times
what ``bulk_create`` manages per core; on SQLite they go in multi-row ``INSERT ... RETURNING``
statements, each value bound as its field gives it (``_bound``); the batch entry records the count, the keys and the
digest of the values stored, as for any other write in a batch, so ``radgov audit verify``
proves them unaltered in the same way.  That needs every value to be one the database stores
unchanged (``radgov.core.models.stored``).  An encrypted column is given as plaintexts and
encrypted here, the whole column under one key (``crypto.encrypt_many``), so the batch digests
the tokens stored, as ``radgov audit verify`` reads them back; a pseudonym column is checked
value by value as its field checks one.  A model with a column of another kind (a decimal), a
value of another kind (a naive date-time, NaN), and any other database take
``bulk_create`` instead, with the same outcome at its pace.  Columns left out take their
default; a column without one must be given.  Returns the new rows' keys, in order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections, models

from radgov.core import crypto
from radgov.core.audit import rows as audit_rows
from radgov.core.audit.chain import canonical_json, format_timestamp
from radgov.core.fields import EncryptedTextField, PseudonymField
from radgov.core.models.stored import exact_column


def ingest(
    model: type[models.Model], using: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[int]:
    from radgov.core.audit.batch import current

    batch = current()
    if batch is None:
        raise RuntimeError(
            f"{model._meta.label}.objects.ingest() runs inside an audit batch "
            "(radgov.core.audit.batch), whose one entry covers the rows"
        )
    names, defaults = _columns(model, columns)
    values = [_complete(model, row, len(columns), defaults) for row in rows]
    if not values:
        return []
    vendor = connections[using].vendor
    exact = _exact(model, names, values) if vendor in ("postgresql", "sqlite") else None
    if exact is None:
        objs = [model(**dict(zip(names, row, strict=True))) for row in values]
        return [obj.pk for obj in model._default_manager.using(using).bulk_create(objs)]
    names = sorted(exact)
    if vendor == "sqlite":
        keys = _insert(model, using, names, [exact[name] for name in names])
    stored = [_timestamps(exact[name]) for name in names]
    tables = []

    def digested(keys: list[int]) -> None:
        tables.append(audit_rows.columns_json(keys, stored))

    if vendor == "postgresql":
        keys = _copy(model, using, names, stored, meanwhile=digested)
    else:
        digested(keys)
    batch.add_rows(model, names, keys, list(zip(*stored, strict=True)), tables[0])
    return keys


def _columns(
    model: type[models.Model], columns: Sequence[str]
) -> tuple[list[str], list[models.Field]]:
    """Every column but the key (those given, in their order, then the others) and the
    fields whose default fills the others."""
    label = model._meta.label
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    unknown = sorted(set(columns) - fields.keys())
    if unknown:
        raise ValueError(f"{label} has no column {', '.join(unknown)}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"{label}.objects.ingest() was given a column twice")
    rest = [f for name, f in fields.items() if name not in columns]
    needed = sorted(f.attname for f in rest if not f.has_default() and not f.null)
    if needed:
        raise ValueError(f"{label} rows need a value for {', '.join(needed)}")
    return [*columns, *(f.attname for f in rest)], rest


def _complete(
    model: type[models.Model], row: Sequence[Any], given: int, defaults: list[models.Field]
) -> Sequence[Any]:
    if len(row) != given:
        raise ValueError(f"a {model._meta.label} row has {len(row)} values for {given} columns")
    return [*row, *(f.get_default() for f in defaults)] if defaults else row


def _exact(
    model: type[models.Model], names: list[str], values: list[Sequence[Any]]
) -> dict[str, list[Any]] | None:
    """{column: its values as the database will store them}, or None when a value must go
    the slow way.  An encrypted column is encrypted here, the whole column at once, and a
    pseudonym column checked as its field checks one value."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    columns = {}
    for name, column in zip(names, zip(*values, strict=True), strict=True):
        field = fields[name]
        if isinstance(field, EncryptedTextField):
            exact = _sealed(field, list(column))
        elif isinstance(field, PseudonymField):
            exact = _pseudonyms(field, list(column))
        else:
            exact = exact_column(field, list(column))
        if exact is None:
            return None
        columns[name] = exact
    return columns


def _sealed(field: EncryptedTextField, column: list[Any]) -> list[Any]:
    """The tokens an encrypted column stores: its plaintexts encrypted at once, an
    ``EncryptedValue`` as the field stores one."""
    tokens = iter(crypto.encrypt_many([v for v in column if type(v) is str], context=field.context))
    return [
        next(tokens) if type(v) is str else None if v is None else field.get_prep_value(v)
        for v in column
    ]


def _pseudonyms(field: PseudonymField, column: list[Any]) -> list[Any] | None:
    """A pseudonym column as given, once every value is one (else the field's own refusal)."""
    if not all(type(v) is str or v is None for v in column):
        return None
    for v in column:
        if v is not None and not (len(v) == 64 and _HEX.fullmatch(v)):
            field.get_prep_value(v)
    return column


def _copy(
    model: type[models.Model],
    using: str,
    names: list[str],
    columns: list[list[Any]],
    meanwhile: Callable[[list[int]], None],
) -> list[int]:
    """COPY the rows (given as columns of exact values, date-times as text) under keys
    drawn from the sequence, and call ``meanwhile(keys)`` once they are sent.  The server
    stores the rows while this process works: each part of COPY_ROWS rows is made into
    text while the server stores the parts before it, and ``meanwhile`` (the batch digest)
    runs while it stores the last ones, instead of each side waiting for the other."""
    from psycopg import sql

    meta = model._meta
    by_name = {f.attname: f for f in meta.concrete_fields}
    fields = [by_name[name] for name in names]
    targets = [meta.pk.column, *(field.column for field in fields)]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table), sql.SQL(", ").join(map(sql.Identifier, targets))
    )
    count = len(columns[0])
    with connections[using].cursor() as cursor:
        keys = _drawn.get({}).pop((using, meta.label), None)
        if keys is None or len(keys) != count:
            keys = _draw(cursor, {model: count})[model]
        with cursor.cursor.copy(statement) as copy:
            for start in range(0, count, COPY_ROWS):
                part = slice(start, start + COPY_ROWS)
                texts = [
                    _text_column(field, column[part])
                    for field, column in zip(fields, columns, strict=True)
                ]
                lines = map("\t".join, zip(map(str, keys[part]), *texts, strict=True))
                copy.write("\n".join(lines) + "\n")
            meanwhile(keys)
    return keys


# keys drawn ahead by ``drawn_together``: {(database, model label): keys}
_drawn: ContextVar[dict[tuple[str, str], list[int]]] = ContextVar("radgov_drawn_keys")


@contextmanager
def drawn_together(
    counts: Mapping[type[models.Model], int], *, using: str = "default"
) -> Iterator[None]:
    """On PostgreSQL, the keys of the next ``ingest`` of each model in ``counts`` (of that
    many rows) drawn from their sequences in one query, instead of one query each: a round
    trip for each model less (routing writes a study's inferences, their history and its
    routes).  An ingest of another count draws its own; keys not taken are left unused, as
    a rolled-back transaction leaves them.  Elsewhere it does nothing."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not any(counts.values()):
        yield
        return
    with connection.cursor() as cursor:
        drawn = _draw(cursor, {model: n for model, n in counts.items() if n})
    token = _drawn.set({(using, model._meta.label): keys for model, keys in drawn.items()})
    try:
        yield
    finally:
        _drawn.reset(token)


def _draw(
    cursor: Any, counts: Mapping[type[models.Model], int]
) -> dict[type[models.Model], list[int]]:
    """{model: that many new keys from its table's sequence, in increasing order}, in one
    query; each sequence looked up once, not once a row (7x the time)."""
    models_ = list(counts)
    cursor.execute(
        "WITH s AS MATERIALIZED (SELECT n, pg_get_serial_sequence(t, c)::regclass AS seq, k "
        "FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[]) AS v(n, t, c, k)) "
        "SELECT s.n, nextval(s.seq) FROM s, generate_series(1, s.k)",
        [
            list(range(len(models_))),
            [m._meta.db_table for m in models_],
            [m._meta.pk.column for m in models_],
            [counts[m] for m in models_],
        ],
    )
    keys: dict[type[models.Model], list[int]] = {m: [] for m in models_}
    for n, key in cursor.fetchall():
        keys[models_[n]].append(key)
    return {m: sorted(k) for m, k in keys.items()}


def _insert(
    model: type[models.Model], using: str, names: list[str], columns: list[list[Any]]
) -> list[int]:
    """INSERT the rows (given as columns of exact values) on SQLite, as many a statement as
    its limit on parameters allows, each value as the field gives it to the database (an
    encrypted or pseudonym column's values are already what it stores).  Returns their keys
    in order: SQLite gives an integer key one above the largest, row after row."""
    connection = connections[using]
    fields = {f.attname: f for f in model._meta.concrete_fields}
    prepared = [
        _bound(fields[name], column, connection)
        for name, column in zip(names, columns, strict=True)
    ]
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608 - the model's quoted names
        quote(model._meta.db_table), ", ".join(quote(fields[name].column) for name in names)
    )
    one = "({})".format(", ".join(["%s"] * len(names)))
    rows = list(zip(*prepared, strict=True))
    step = max(1, connection.features.max_query_params // len(names))
    keys: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            cursor.execute(
                head + ", ".join([one] * len(chunk)) + f" RETURNING {quote(model._meta.pk.column)}",
                [v for row in chunk for v in row],
            )
            keys += sorted(key for (key,) in cursor.fetchall())
    return keys


def _bound(field: models.Field, column: list[Any], connection: Any) -> list[Any]:
    """One column of exact values as the field gives them to SQLite: text, numbers and an
    encrypted or pseudonym column's values (already what it stores) as they are; JSON value
    by value; any other kind (date-times) once for each distinct value."""
    if isinstance(field, EncryptedTextField | PseudonymField):
        return column
    if isinstance(field, models.JSONField):
        return [None if v is None else field.get_db_prep_save(v, connection) for v in column]
    if {type(v) for v in column} <= _BOUND_AS_THEY_ARE:
        return column
    prepared: dict[Any, Any] = {None: None}
    return [
        prepared[v]
        if v in prepared
        else prepared.setdefault(v, field.get_db_prep_save(v, connection))
        for v in column
    ]


COPY_ROWS = 250  # rows made into COPY text and sent at a time
_BOUND_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


# COPY's text format: a backslash starts an escape, a tab ends the value, a newline the row
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"
_HEX = re.compile("[0-9a-f]+")


def _escaped(texts: list[str]) -> list[str]:
    """The values as COPY text; the whole column is looked at once and passed as it is when
    nothing in it needs escaping (the common case: codes, UIDs, numbers, times)."""
    joined = "".join(texts)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        return [text.translate(_ESCAPES) for text in texts]
    return texts


def _timestamps(column: list[Any]) -> list[Any]:
    """A date-time column as its canonical UTC text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), made
    once: it is what the batch digest hashes for a date-time and what COPY reads.  Each
    distinct time is formatted once (a batch's clock columns hold one time)."""
    first = next((v for v in column if v is not None), None)
    if type(first) is not dt.datetime:
        return column
    texts: dict[dt.datetime, str] = {}
    return [
        None if v is None else texts[v] if v in texts else texts.setdefault(v, format_timestamp(v))
        for v in column
    ]  # exact: UTC


def _text_column(field: models.Field, column: list[Any]) -> list[str]:
    """One column of exact values (``stored.exact_column``) as COPY text."""
    present = [v for v in column if v is not None]
    if isinstance(field, models.JSONField):
        texts = list(map(canonical_json, present))  # one prebuilt encoder, not one a value
    elif present and type(present[0]) is bool:
        texts = ["t" if v else "f" for v in present]
    elif present and type(present[0]) is float:
        texts = list(map(repr, present))  # the shortest text that reads back as the same float
    else:
        texts = list(map(str, present))  # str (date-times among them), int, date, time, UUID
    texts = _escaped(texts)
    if len(texts) == len(column):
        return texts
    given = iter(texts)
    return [NULL if v is None else next(given) for v in column]

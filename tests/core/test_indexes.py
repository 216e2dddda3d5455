"""No table written at machine pace keeps an index that another index already serves.

Every index is work on every row a listener, an ingest or a periodic task adds.  An index is
redundant when it is not unique and its columns are the leading columns of another index of
the same table that covers every row (not a partial one): a query that could use the first
can use the second.  This includes PostgreSQL's ``varchar_pattern_ops`` copy Django makes of
an indexed text column (same column, only for ``LIKE 'x%'``, which no query of these apps
makes) and the index Django makes for a foreign key that a composite index leads with.  The
apps are the ones machines write (``core``'s audit and identities, ``exams``, ``gateway``,
``monitoring``); the tables people write a row at a time are not checked.  The schema is
read from the database, so the test sees what the migrations made."""

from __future__ import annotations

from io import StringIO
from typing import NamedTuple

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db

MACHINE_PACED = ("core", "exams", "gateway", "monitoring")


class Index(NamedTuple):
    name: str
    columns: tuple[str, ...]
    unique: bool
    partial: bool


def indexes(table: str) -> list[Index]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                SELECT i.relname, array_agg(a.attname ORDER BY k.n), x.indisunique,
                       x.indpred IS NOT NULL
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
                JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                WHERE t.relname = %s AND pg_table_is_visible(t.oid)
                GROUP BY i.relname, x.indisunique, x.indpred
                """,
                [table],
            )
            return [
                Index(name, tuple(cols), unique, partial) for name, cols, unique, partial in cursor
            ]
        cursor.execute(f'PRAGMA index_list("{table}")')
        listed = [(row[1], bool(row[2]), bool(row[4])) for row in cursor.fetchall()]
        found = []
        for name, unique, partial in listed:
            cursor.execute(f'PRAGMA index_info("{name}")')
            columns = tuple(row[2] for row in sorted(cursor.fetchall()))
            found.append(Index(name, columns, unique, partial))
        return found


def redundant(found: list[Index]) -> list[str]:
    """Each index another serves, with the first that does."""
    named = []
    for index in found:
        serving = [
            other
            for other in found
            if other.name != index.name
            and not other.partial
            and other.columns[: len(index.columns)] == index.columns
            and (len(other.columns) > len(index.columns) or other.unique or index.name > other.name)
        ]
        if serving and not index.unique:
            named.append(f"{index.name} {index.columns} is served by {serving[0].name}")
    return named


def machine_paced_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for label in MACHINE_PACED
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed
    )


def test_no_machine_paced_table_keeps_an_index_another_serves():
    found = [line for table in machine_paced_tables() for line in redundant(indexes(table))]
    assert found == [], "\n".join(found)


def test_the_check_names_an_index_another_serves():
    # the rule itself, on indexes as each database describes them
    found = [
        Index("t_fk", ("study_id",), False, False),
        Index("t_once", ("study_id", "deployment_id"), True, False),
        Index("t_hash_like", ("hash",), False, False),
        Index("t_hash_key", ("hash",), True, False),
        Index("t_review", ("inference_id",), False, False),
        Index("t_review_once", ("inference_id",), True, True),  # partial: covers some rows
        Index("t_day", ("day", "site"), False, False),
        Index("t_site", ("site",), False, False),  # not a leading column: needed
    ]
    assert [line.split()[0] for line in redundant(found)] == ["t_fk", "t_hash_like"]


def test_the_schema_is_read_from_the_database():
    # a check that found no index at all would pass the first test for the wrong reason
    route = {index.columns: index for index in indexes("gateway_route")}
    assert route[("study_id", "deployment_id")].unique  # SQLite names it sqlite_autoindex_...
    review = {index.columns: index for index in indexes("exams_review") if index.unique}
    assert review[("inference_id",)].partial


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor refuses a test's transaction
def test_an_index_added_to_a_table_machines_write_does_not_stop_its_writers():
    # gateway 0008: built concurrently on PostgreSQL (listeners of the running version go on
    # recording meanwhile), a plain index on SQLite; then it serves the study's old index
    out = StringIO()
    call_command("sqlmigrate", "gateway", "0008", stdout=out)
    concurrently = connection.vendor == "postgresql"
    assert ("CREATE INDEX CONCURRENTLY" in out.getvalue()) == concurrently, out.getvalue()
    assert "CREATE INDEX" in out.getvalue()
    instance = {index.columns: index for index in indexes("gateway_instance")}
    assert ("study_id", "received_at", "id") in instance and ("study_id",) not in instance

"""Indexes of the tables machines write, changed while they write.

Dropping an index another index already serves (``tests/core/test_indexes.py`` says which
are redundant): only the index goes; Django's ``AlterField(db_index=False)`` on a foreign
key would also drop and re-add its constraint, checking it again over every row, so a
migration pairs this database operation with that state operation in
``SeparateDatabaseAndState``.  Reversing makes the indexes again.

Adding one (``AddIndexWhileWriting``): on PostgreSQL built concurrently, so the listeners of
the version still running go on writing while ``radgov migrate`` builds it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations

Named = tuple[str, str, str]  # the index, its table, its one column


def drop_served(plain: Sequence[Named] = (), like: Sequence[Named] = ()) -> migrations.RunPython:
    """Drop ``plain`` indexes (on every database) and ``like`` ones: the ``varchar_pattern_ops``
    copies PostgreSQL gets of an indexed text column (SQLite never had them)."""

    def pattern_copies(schema_editor: Any) -> Sequence[Named]:
        return like if schema_editor.connection.vendor == "postgresql" else ()

    def drop(apps: Any, schema_editor: Any) -> None:
        for name, _, _ in (*plain, *pattern_copies(schema_editor)):
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def make(apps: Any, schema_editor: Any) -> None:
        q = schema_editor.quote_name
        for name, table, column in plain:
            schema_editor.execute(f"CREATE INDEX {q(name)} ON {q(table)} ({q(column)})")
        for name, table, column in pattern_copies(schema_editor):
            schema_editor.execute(
                f"CREATE INDEX {q(name)} ON {q(table)} ({q(column)} varchar_pattern_ops)"
            )

    return migrations.RunPython(drop, make)


class AddIndexWhileWriting(AddIndexConcurrently):
    """``AddIndex`` that does not stop writers: ``CREATE INDEX CONCURRENTLY`` on PostgreSQL
    (in a migration with ``atomic = False``), a plain index elsewhere (SQLite's writers take
    turns anyway)."""

    def database_forwards(self, app_label: str, schema_editor: Any, old: Any, new: Any) -> None:
        _adding(schema_editor).database_forwards(self, app_label, schema_editor, old, new)

    def database_backwards(self, app_label: str, schema_editor: Any, old: Any, new: Any) -> None:
        _adding(schema_editor).database_backwards(self, app_label, schema_editor, old, new)


def _adding(schema_editor: Any) -> type[migrations.AddIndex]:
    """The operation that adds the index on this database."""
    concurrently = schema_editor.connection.vendor == "postgresql"
    return AddIndexConcurrently if concurrently else migrations.AddIndex

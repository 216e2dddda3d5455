"""Dropping an index another index already serves, for the migrations of the apps machines
write (``tests/core/test_indexes.py`` says which are redundant).  Only the index goes: Django's
``AlterField(db_index=False)`` on a foreign key would also drop and re-add its constraint,
checking it again over every row, so a migration pairs this database operation with that
state operation in ``SeparateDatabaseAndState``.  Reversing makes the indexes again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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

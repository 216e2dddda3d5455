"""Drop PostgreSQL's ``varchar_pattern_ops`` copy of the audit entry hash's unique index
(decision 0002, issue 12): Django makes it for every unique text column to serve ``LIKE``,
no query of the trail looks an entry up by part of its hash, and it was one more index
written for every entry appended.  The unique index itself stays (two entries never share a
hash).  Only the index is dropped, as in exams 0004: Django's own AlterField would drop and
rebuild the unique index over the whole trail as well.  SQLite never had it."""

from django.db import migrations

LIKE_INDEX = "core_auditentry_entry_hash_8b7c0e71_like"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


def make(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {LIKE_INDEX} ON core_auditentry (entry_hash varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0008_identity_help_text")]

    operations = [migrations.RunPython(drop, make)]

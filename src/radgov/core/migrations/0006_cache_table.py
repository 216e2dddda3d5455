"""The database cache's table, made by ``migrate`` itself: every audited service renews the
cache's generations (``radgov.core.generations``), so a database brought up with
``radgov migrate`` alone must already have it (``createcachetable`` is idempotent; with
Redis as the cache there is no table to make)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_process_beats")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]

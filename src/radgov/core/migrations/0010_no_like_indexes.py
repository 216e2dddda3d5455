"""Drop PostgreSQL's varchar_pattern_ops copies of the identities' pseudonyms and the
machines' names and credential prefixes (tests/core/test_indexes.py): each is looked up
whole, never with ``LIKE``, through its unique index, which stays.  A patient's and an
accession's pseudonym are written for every new exam.  SQLite never had them."""

from django.db import migrations

from radgov.core.served_indexes import drop_served


class Migration(migrations.Migration):
    dependencies = [("core", "0009_audit_entry_hash_no_like_index")]

    operations = [
        drop_served(
            like=[
                (
                    "core_patientidentity_pseudonym_db2a2cd6_like",
                    "core_patientidentity",
                    "pseudonym",
                ),
                (
                    "core_accessionidentity_pseudonym_672aa68e_like",
                    "core_accessionidentity",
                    "pseudonym",
                ),
                ("core_machine_name_cb12f7a7_like", "core_machine", "name"),
                ("core_machinecredential_prefix_f4edced6_like", "core_machinecredential", "prefix"),
            ]
        )
    ]

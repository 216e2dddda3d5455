"""Drop PostgreSQL's varchar_pattern_ops copies of an exam's study UID hash, a result
object's SOP UID hash and a destination's standard (tests/core/test_indexes.py): each is
looked up whole through its unique index, which stays.  SQLite never had them."""

from django.db import migrations

from radgov.core.served_indexes import drop_served


class Migration(migrations.Migration):
    dependencies = [("exams", "0004_bulk_ingest_redundant_indexes")]

    operations = [
        drop_served(
            like=[
                ("exams_exam_study_uid_hash_b26884f0_like", "exams_exam", "study_uid_hash"),
                (
                    "exams_resultobject_sop_uid_hash_60c9d2f9_like",
                    "exams_resultobject",
                    "sop_uid_hash",
                ),
                ("exams_destination_standard_6fac4a61_like", "exams_destination", "standard"),
            ]
        )
    ]

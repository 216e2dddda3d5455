"""Drop five indexes that others already serve (issue 17, bulk ingest): the foreign keys of
an inference (its exam: the unique (exam, deployment) leads with it; its deployment: the
(deployment, status) index leads with it), a status change's inference (the unique
(inference, key_hash) leads with it) and its key_hash, looked up only with its inference
(both its index and PostgreSQL's varchar_pattern_ops copy; reversing the migration
makes the four plain indexes again).  Each index is work on every row
a bulk ingest adds.  Only the indexes are dropped: Django's own AlterField would also drop
and re-add (so re-check over every row) the foreign-key constraints."""

import django.db.models.deletion
from django.db import migrations, models

import radgov.core.fields

REDUNDANT = (
    "exams_inference_deployment_id_cf93454a",
    "exams_inference_exam_id_dc11a84a",
    "exams_statuschange_inference_id_1f6e62d9",
    "exams_statuschange_key_hash_0660520b",
    "exams_statuschange_key_hash_0660520b_like",  # PostgreSQL only
)


class Migration(migrations.Migration):
    dependencies = [
        ("exams", "0003_review_states_ai_destination_failing"),
        ("inventory", "0004_vendor_companies"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [f"DROP INDEX IF EXISTS {name}" for name in REDUNDANT],
                    reverse_sql=[
                        "CREATE INDEX exams_inference_deployment_id_cf93454a"
                        " ON exams_inference (deployment_id)",
                        "CREATE INDEX exams_inference_exam_id_dc11a84a ON exams_inference (exam_id)",
                        "CREATE INDEX exams_statuschange_inference_id_1f6e62d9"
                        " ON exams_statuschange (inference_id)",
                        "CREATE INDEX exams_statuschange_key_hash_0660520b"
                        " ON exams_statuschange (key_hash)",
                    ],
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="inference",
                    name="deployment",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="inferences",
                        to="inventory.deployment",
                    ),
                ),
                migrations.AlterField(
                    model_name="inference",
                    name="exam",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="inferences",
                        to="exams.exam",
                    ),
                ),
                migrations.AlterField(
                    model_name="statuschange",
                    name="inference",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="history",
                        to="exams.inference",
                    ),
                ),
                migrations.AlterField(
                    model_name="statuschange",
                    name="key_hash",
                    field=radgov.core.fields.PseudonymField(
                        blank=True,
                        db_index=False,
                        help_text="keyed hash of the caller's idempotency key",
                        null=True,
                    ),
                ),
            ],
        ),
    ]

"""Drop the indexes that another index of the same table serves (tests/core/test_indexes.py):
the foreign key of every table whose unique key or composite index leads with it (an
interaction's inference and user, a concordance's deployment, a label's report, the daily
rollups' and first-seen values' deployment, an alert's deployment) and PostgreSQL's
varchar_pattern_ops copy of a report's accession hash.  An interaction's two are written for
every event a PACS sends; no query needs them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from radgov.core.served_indexes import drop_served

PLAIN = [
    ("monitoring_alert_deployment_id_f259c648", "monitoring_alert", "deployment_id"),
    ("monitoring_concordance_deployment_id_b7af7f4d", "monitoring_concordance", "deployment_id"),
    (
        "monitoring_concordanceday_deployment_id_6f5b1b25",
        "monitoring_concordanceday",
        "deployment_id",
    ),
    ("monitoring_firstseen_deployment_id_8dfa70d3", "monitoring_firstseen", "deployment_id"),
    ("monitoring_interaction_inference_id_2fce6c91", "monitoring_interaction", "inference_id"),
    ("monitoring_interaction_user_id_67ff5c93", "monitoring_interaction", "user_id"),
    ("monitoring_orderday_deployment_id_1a116b37", "monitoring_orderday", "deployment_id"),
    ("monitoring_outcomeday_deployment_id_bba422c9", "monitoring_outcomeday", "deployment_id"),
    ("monitoring_reportlabel_report_id_b8f91e48", "monitoring_reportlabel", "report_id"),
    ("monitoring_valueday_deployment_id_8457c171", "monitoring_valueday", "deployment_id"),
]
LIKE = [("monitoring_report_accession_hash_ab331029_like", "monitoring_report", "accession_hash")]


class Migration(migrations.Migration):
    dependencies = [
        ("exams", "0004_bulk_ingest_redundant_indexes"),
        ("inventory", "0004_vendor_companies"),
        ("monitoring", "0009_order_day_cusum_state"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[drop_served(plain=PLAIN, like=LIKE)],
            state_operations=[
                migrations.AlterField(
                    model_name="alert",
                    name="deployment",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alerts",
                        to="inventory.deployment",
                    ),
                ),
                migrations.AlterField(
                    model_name="concordance",
                    name="deployment",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="concordances",
                        to="inventory.deployment",
                    ),
                ),
                migrations.AlterField(
                    model_name="firstseen",
                    name="deployment",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="first_seen_values",
                        to="inventory.deployment",
                    ),
                ),
                migrations.AlterField(
                    model_name="interaction",
                    name="inference",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="interactions",
                        to="exams.inference",
                    ),
                ),
                migrations.AlterField(
                    model_name="interaction",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="reportlabel",
                    name="report",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="labels",
                        to="monitoring.report",
                    ),
                ),
                *(
                    migrations.AlterField(  # the day rollups: the same key, the same change
                        model_name=day,
                        name="deployment",
                        field=models.ForeignKey(
                            db_index=False,
                            on_delete=django.db.models.deletion.CASCADE,
                            related_name="+",
                            to="inventory.deployment",
                        ),
                    )
                    for day in ("concordanceday", "orderday", "outcomeday", "valueday")
                ),
            ],
        )
    ]

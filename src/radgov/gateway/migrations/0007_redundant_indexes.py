"""Drop the indexes that another index of the same table serves (tests/core/test_indexes.py):
an instance's SOP UID hash (the unique (sop_uid_hash, sha256) leads with it; with PostgreSQL's
varchar_pattern_ops copy), a route's study (the unique (study, deployment) leads with it) and
the pattern copy of a study's UID hash.  Each is written for every instance received or route
made; no query uses them."""

import django.db.models.deletion
from django.db import migrations, models

import radgov.core.fields
from radgov.core.served_indexes import drop_served


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0006_hl7_message_control_ids"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                drop_served(
                    plain=[
                        (
                            "gateway_instance_sop_uid_hash_4ea3cd2c",
                            "gateway_instance",
                            "sop_uid_hash",
                        ),
                        ("gateway_route_study_id_2b954f1f", "gateway_route", "study_id"),
                    ],
                    like=[
                        (
                            "gateway_instance_sop_uid_hash_4ea3cd2c_like",
                            "gateway_instance",
                            "sop_uid_hash",
                        ),
                        (
                            "gateway_study_study_uid_hash_4acd2608_like",
                            "gateway_study",
                            "study_uid_hash",
                        ),
                    ],
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="instance",
                    name="sop_uid_hash",
                    field=radgov.core.fields.PseudonymField(
                        db_index=False, help_text="keyed hash of the SOP Instance UID"
                    ),
                ),
                migrations.AlterField(
                    model_name="route",
                    name="study",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="routes",
                        to="gateway.study",
                    ),
                ),
            ],
        )
    ]

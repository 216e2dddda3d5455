"""Drop the index of an instance's study: the index of a study's images in order (0008) leads
with it (tests/core/test_indexes.py), so every instance received still writes one index for
its study.  Only the index goes (``drop_served``): the foreign key is not checked again."""

import django.db.models.deletion
from django.db import migrations, models

from radgov.core.served_indexes import drop_served


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0008_instances_in_order"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                drop_served(
                    plain=[("gateway_instance_study_id_8cfad5a0", "gateway_instance", "study_id")]
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="instance",
                    name="study",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="instances",
                        to="gateway.study",
                    ),
                ),
            ],
        ),
    ]

"""A study's images in the order they came, as one index: (study, received_at, id).  Routing
reads a study's first image (it sorted all of the study's instances for it: 0.4 ms of the
server's for 200, now an index scan of one row) and the sender reads them all in that order.
The foreign key's own index on the study is dropped: the new index leads with it
(tests/core/test_indexes.py), so every instance received still writes one index for it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0010_no_like_indexes"),
        ("gateway", "0007_redundant_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="instance",
            index=models.Index(
                fields=["study", "received_at", "id"], name="gateway_instance_in_order"
            ),
        ),
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
    ]

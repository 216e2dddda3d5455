"""A study's images in the order they came, as one index: (study, received_at, id).  Routing
reads a study's first image (it sorted all of the study's instances for it: 0.4 ms of the
server's for 200, now an index scan of one row) and the sender reads them all in that order.
Built concurrently on PostgreSQL, so the listeners go on recording while it is built (hence
not atomic); 0009 then drops the foreign key's own index, which this one serves."""

from django.db import migrations, models

from radgov.core.served_indexes import AddIndexWhileWriting


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("gateway", "0007_redundant_indexes"),
    ]

    operations = [
        AddIndexWhileWriting(
            model_name="instance",
            index=models.Index(
                fields=["study", "received_at", "id"], name="gateway_instance_in_order"
            ),
        ),
    ]

"""Products belong to a vendor company: one company per vendor name already recorded
(names that differ only in case are one company), then the name moves to the company."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def companies_from_names(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    VendorCompany = apps.get_model("inventory", "VendorCompany")
    by_name = {}
    for product in Product.objects.order_by("pk"):
        key = product.vendor.strip().casefold()
        if key not in by_name:
            by_name[key] = VendorCompany.objects.create(name=product.vendor.strip())
        product.company = by_name[key]
        product.save(update_fields=["company"])


def names_from_companies(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    for product in Product.objects.select_related("company"):
        product.vendor = product.company.name
        product.save(update_fields=["vendor"])


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_alarm_suspension"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="VendorCompany",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "representatives",
                    models.ManyToManyField(
                        blank=True,
                        help_text="vendor accounts of this company (one company per account)",
                        related_name="vendor_companies",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["name"], "verbose_name_plural": "vendor companies"},
        ),
        migrations.AddField(
            model_name="product",
            name="company",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="products",
                to="inventory.vendorcompany",
            ),
        ),
        migrations.RunPython(companies_from_names, names_from_companies),
        migrations.RemoveConstraint(model_name="product", name="inventory_product_vendor_name"),
        migrations.RemoveField(model_name="product", name="vendor"),
        migrations.AlterField(
            model_name="product",
            name="company",
            field=models.ForeignKey(
                help_text="the manufacturer/developer",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="products",
                to="inventory.vendorcompany",
            ),
        ),
        migrations.AlterModelOptions(name="product", options={"ordering": ["company__name", "name"]}),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.UniqueConstraint(
                fields=("company", "name"), name="inventory_product_company_name"
            ),
        ),
    ]

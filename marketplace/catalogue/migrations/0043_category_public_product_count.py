"""Each category's count of products on sale in it and below it (marketplace/storefront/shop_counts.py),
filled for the categories there are."""

from django.db import migrations, models
from django.db.models import F, Func, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    Category = apps.get_model("catalogue", "Category")
    ProductCategory = apps.get_model("catalogue", "ProductCategory")
    in_subtree = (
        ProductCategory.objects.filter(
            category__path__startswith=OuterRef("path"),
            product__is_public=True,
            product__parent__isnull=True,
            product__shop__status="approved",
        )
        .order_by()
        .values(n=Func(F("product_id"), function="COUNT", template="COUNT(DISTINCT %(expressions)s)"))
    )
    Category.objects.update(
        public_product_count=Coalesce(Subquery(in_subtree, output_field=IntegerField()), 0)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0042_product_class_name_en"),
        ("partner", "0011_partner_public_product_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="public_product_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="Products on sale"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]

"""The harvest window's length kept on the product (the home page's "in season" order, read from an
index), and each shop's count of products on sale (marketplace/storefront/shop_counts.py); both filled for
the products and shops there are."""

from django.db import migrations, models
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    Product = apps.get_model("catalogue", "Product")
    Partner = apps.get_model("partner", "Partner")
    start, end = F("harvest_start_month"), F("harvest_end_month")
    Product.objects.filter(harvest_start_month__gte=1, harvest_end_month__gte=1).update(
        harvest_window_months=Case(
            When(harvest_start_month__lte=end, then=end - start), default=end - start + 12
        )
    )
    on_sale = (
        Product.objects.filter(Q(shop=OuterRef("pk")), is_public=True, parent__isnull=True)
        .order_by()
        .values("shop")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Partner.objects.update(public_product_count=Coalesce(Subquery(on_sale, output_field=IntegerField()), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0037_moved_models"),
        ("partner", "0011_partner_public_product_count"),
        ("places", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="harvest_window_months",
            field=models.PositiveSmallIntegerField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["harvest_window_months", "-date_created", "id"], name="product_in_season_order"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]

"""How many products each shop has on sale, as its shop card shows it (home page, shop list, places), and
each category (with the categories below it), as its page's paginator needs it.

Counting them per page read every product of every listed shop, which grew with the catalogue (126 ms
of a home page rendered from scratch at 100,000 products). The count is kept on the shop instead
(``Partner.public_product_count``) and recounted after every catalogue change, off the request path: a
subscriber of the same outbox event that retires the cached storefront. Recounts take turns (a
transaction-level lock on PostgreSQL; SQLite has one writer), so a later one never writes an older count.
"""

from collections.abc import Collection

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from oscar.core.loading import get_model

Product = get_model("catalogue", "Product")
Partner = get_model("partner", "Partner")
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")

RECOUNT_LOCK_KEY = 0x53484F50  # "SHOP": pg_advisory_xact_lock's key for recounts


def shop_product_counts_refresh(*, shops: Collection[int] | None = None) -> frozenset[int]:
    """Recount every shop's products on sale (public stand-alone and parent products), or only those of
    ``shops``; call it inside a transaction. Returns the shops whose count changed (what is drawn with the
    counts follows them)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RECOUNT_LOCK_KEY])
    on_sale = (
        Product.objects.filter(shop=OuterRef("pk"), is_public=True, parent__isnull=True)
        .order_by()
        .values("shop")
        .annotate(n=Count("pk"))
        .values("n")
    )
    counted = Partner.objects.all() if shops is None else Partner.objects.filter(pk__in=sorted(shops))
    before = dict(counted.values_list("pk", "public_product_count"))
    counted.update(public_product_count=Coalesce(Subquery(on_sale, output_field=IntegerField()), 0))
    after = counted.values_list("pk", "public_product_count")
    return frozenset(pk for pk, count in after if before.get(pk) != count)


def category_product_counts_refresh(*, categories: Collection[int] | None = None) -> int:
    """Recount every category's products on sale (``Product.objects.storefront()``) in it or any category
    below it, each product once, or only ``categories``' (a category's count moves with those below it: name
    them all); call it inside a transaction, after ``shop_product_counts_refresh`` (whose lock it shares).
    One count a category, by the ids of the categories below it (the links' index: matching the links'
    categories by their path prefix read every link for every category, 2 s for eleven at 100,000 products
    on SQLite), then one write. Returns the number of categories recounted."""
    tree = list(Category.objects.order_by("path").values_list("pk", "path"))
    wanted = None if categories is None else set(categories)
    chosen = [(pk, path) for pk, path in tree if wanted is None or pk in wanted]
    on_sale = ProductCategory.objects.filter(
        product__is_public=True, product__parent__isnull=True, product__shop__status=Partner.Status.APPROVED
    )
    recounted = []
    for pk, path in chosen:
        below = [other for other, other_path in tree if other_path.startswith(path)]
        count = on_sale.filter(category_id__in=below).aggregate(n=Count("product_id", distinct=True))["n"]
        recounted.append(Category(pk=pk, public_product_count=count or 0))
    Category.objects.bulk_update(recounted, ["public_product_count"])
    return len(recounted)

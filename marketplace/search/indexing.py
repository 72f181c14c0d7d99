"""Keeping the search index current: what text a product is found by, and writing its tokens."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from oscar.core.loading import get_model

from marketplace.search.models import ProductSearchDocument, SearchToken
from marketplace.search.tokens import index_tokens, normalise

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
else:
    Product = get_model("catalogue", "Product")


def _searchable_queryset() -> QuerySet["Product"]:
    return Product.objects.select_related(
        "shop", "shop__county", "shop__town", "shop__village", "origin_village", "product_class"
    ).prefetch_related("categories")


def product_search_text(product: "Product") -> str:
    """Names, variety, kind, category, shop and place: what buyers type. Descriptions are left out
    on purpose: a tea shop's story mentioning peach blossom must not make it a peach result."""
    parts = [product.title, product.title_en, product.variety, product.variety_en, product.upc]
    if product.product_class_id:
        parts.append(product.product_class.name)
    for category in product.categories.all():
        parts += [category.name, getattr(category, "name_en", "")]
    shop = product.shop
    if shop is not None:
        parts += [shop.name, shop.name_en]
        for region in (shop.county, shop.town, shop.village):
            if region is not None:
                parts += [region.name, region.name_en]
    if product.origin_village is not None:
        parts += [product.origin_village.name, product.origin_village.name_en]
    return " ".join(p for p in parts if p)


def _write(product: "Product") -> None:
    text = product_search_text(product)
    ProductSearchDocument.objects.update_or_create(product=product, defaults={"text": normalise(text)})
    wanted = index_tokens(text)
    existing = set(SearchToken.objects.filter(product=product).values_list("token", flat=True))
    SearchToken.objects.filter(product=product, token__in=existing - wanted).delete()
    SearchToken.objects.bulk_create(
        [SearchToken(product=product, token=t) for t in sorted(wanted - existing)],
        ignore_conflicts=True,
    )


@transaction.atomic
def product_index(*, product_id: int) -> bool:
    """(Re)index one product; a product that no longer exists leaves no rows. Idempotent."""
    product = _searchable_queryset().filter(pk=product_id).first()
    if product is None:
        SearchToken.objects.filter(product_id=product_id).delete()
        ProductSearchDocument.objects.filter(product_id=product_id).delete()
        return False
    _write(product)
    return True


def products_index(*, product_ids: Iterable[int] | None = None, batch_size: int = 500) -> int:
    """Rebuild the index for many products (all when ``product_ids`` is None), in batches."""
    queryset = _searchable_queryset().order_by("pk")
    if product_ids is not None:
        queryset = queryset.filter(pk__in=list(product_ids))
    count = 0
    for start in range(0, queryset.count(), batch_size):
        batch = list(queryset[start : start + batch_size])
        with transaction.atomic():
            ids = [p.pk for p in batch]
            SearchToken.objects.filter(product_id__in=ids).delete()
            ProductSearchDocument.objects.filter(product_id__in=ids).delete()
            docs, rows = [], []
            for product in batch:
                text = product_search_text(product)
                docs.append(ProductSearchDocument(product=product, text=normalise(text)))
                rows += [SearchToken(product=product, token=t) for t in index_tokens(text)]
            ProductSearchDocument.objects.bulk_create(docs)
            SearchToken.objects.bulk_create(rows, batch_size=2000)
        count += len(batch)
    return count

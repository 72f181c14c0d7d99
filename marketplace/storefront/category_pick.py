"""A category page's first page, kept rather than ordered per page.

The first page of a category (its newest products on sale) is most of its traffic, and ordering every
product of a large category to show 24 grew with the catalogue (65 ms for ~40,000 fruit at 100,000 products
on SQLite, whose planner will not walk the date index). So each category's first page — one product more
than a page holds, which tells the paginator whether more follow — is picked by the catalogue-change
subscriber after every change that can reach it (``lists_moved.py``: a change to one of its products, or
to a category below it) and kept in ``CategoryPick``; the page reads it. A category without a pick, or one
picked for another page size, is picked by its page, which keeps it only if the subscriber has not kept
one meanwhile (the page's may have been read before a change the subscriber's has seen). Like the kept
counts, a pick lags a change by its delivery through the outbox: a product taken off sale meanwhile is not
drawn (``cards`` draws only products on sale), one put on sale appears at the delivery.
"""

from collections.abc import Collection
from typing import TYPE_CHECKING

from django.conf import settings
from oscar.core.loading import get_model

from marketplace.storefront import selectors
from marketplace.storefront.compiled import compiled_rows, json_ids
from marketplace.storefront.models import CategoryPick
from marketplace.storefront.picks import kept_or_picked

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category
else:
    Category = get_model("catalogue", "Category")


def _first_page(category: "Category", page_size: int) -> list[int]:
    return list(selectors.category_products(category=category).values_list("pk", flat=True)[: page_size + 1])


def _keep(category: "Category", page_size: int, ids: list[int]) -> None:
    CategoryPick.objects.update_or_create(
        category=category, defaults={"product_ids": ids, "page_size": page_size}
    )


def category_picks_refresh(*, categories: Collection[int] | None = None) -> int:
    """Pick every category's first page again, or only ``categories``' (one query each); returns how many."""
    page_size = settings.OSCAR_PRODUCTS_PER_PAGE
    chosen = (
        Category.objects.all() if categories is None else Category.objects.filter(pk__in=sorted(categories))
    )
    picked = list(chosen)
    for category in picked:
        _keep(category, page_size, _first_page(category, page_size))
    return len(picked)


def _keep_unless_kept(category: "Category", page_size: int, ids: list[int]) -> None:
    """A page's pick, kept unless the subscriber kept one meanwhile (the page's may be older than it)."""
    CategoryPick.objects.filter(category=category).exclude(page_size=page_size).delete()
    CategoryPick.objects.bulk_create(
        [CategoryPick(category=category, product_ids=ids, page_size=page_size)], ignore_conflicts=True
    )


def category_first_page(category: "Category") -> list[int]:
    """The category's first page with one more product, as kept (one query, compiled once per process),
    picked now if not yet."""
    page_size = settings.OSCAR_PRODUCTS_PER_PAGE
    kept = compiled_rows(
        "category_pick",
        page_size,
        lambda pk: CategoryPick.objects.filter(category_id=pk, page_size=page_size).values_list(
            "product_ids"
        ),
    )(category.pk)
    return kept_or_picked(
        [json_ids(row[0]) for row in kept],
        pick=lambda: _first_page(category, page_size),
        keep=lambda ids: _keep_unless_kept(category, page_size, ids),
    )

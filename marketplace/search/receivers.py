"""Keep the search index current when products (or the shop and place names they are found by) change.

Index upkeep is bookkeeping, not a business flow, and Oscar's dashboard saves products without our
services, so it is the one thing we hang on model signals; the work itself runs in a Celery task
after commit.
"""

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from oscar.core.loading import get_model

from marketplace.search.tasks import product_index_enqueue

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
    from oscar.apps.partner.models import Partner
else:
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")

SHOP_FIELDS_SEARCHED = {"name", "name_en", "county", "town", "village"}

_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("search_index_deferred", default=False)


@contextlib.contextmanager
def search_index_deferred() -> Iterator[None]:
    """For bulk loads that rebuild the index themselves at the end (``products_index``): saves made
    inside enqueue no per-product reindex."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def _enqueue(product_id: int) -> None:
    if not _deferred.get():
        product_index_enqueue(product_id)


@receiver(post_save, sender=Product, dispatch_uid="search_product_saved")
@receiver(post_delete, sender=Product, dispatch_uid="search_product_deleted")
def product_changed(sender: type[Model], instance: "Product", **kwargs: Any) -> None:
    _enqueue(instance.pk)


@receiver(m2m_changed, sender=Product.categories.through, dispatch_uid="search_product_categories")
def product_categories_changed(sender: type[Model], instance: Model, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Product):
        _enqueue(instance.pk)


@receiver(post_save, sender=Partner, dispatch_uid="search_shop_saved")
def shop_changed(
    sender: type[Model],
    instance: "Partner",
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if created or (update_fields is not None and not SHOP_FIELDS_SEARCHED & set(update_fields)):
        return
    if _deferred.get():
        return
    for product_id in instance.products.values_list("pk", flat=True):
        product_index_enqueue(product_id)

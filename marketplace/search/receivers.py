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
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from oscar.core.loading import get_model

from marketplace.search.tasks import product_index_enqueue

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
    from oscar.apps.partner.models import Partner
else:
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")

SHOP_FIELDS_SEARCHED = {"name", "name_en", "province", "city", "county", "town", "village"}
# The searched fields' columns as they were before a save (read by ``shop_searched_before``).
SEARCHED_BEFORE = "_search_fields_before"

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


def _searched_columns() -> list[str]:
    return [Partner._meta.get_field(name).attname for name in sorted(SHOP_FIELDS_SEARCHED)]


def _searched(shop: "Partner") -> tuple[object, ...]:
    return tuple(getattr(shop, column) for column in _searched_columns())


@receiver(pre_save, sender=Partner, dispatch_uid="search_shop_before")
def shop_searched_before(
    sender: type[Model], instance: "Partner", update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """What the shop's products are found by, read before a save that may change it: a shop's other
    edits (its phone, its story, its status) reindex none of its products, which may be thousands."""
    if instance.pk is None or _deferred.get():
        return
    if update_fields is not None and not SHOP_FIELDS_SEARCHED & set(update_fields):
        return
    before = Partner.objects.filter(pk=instance.pk).values_list(*_searched_columns()).first()
    setattr(instance, SEARCHED_BEFORE, before)


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
    before = instance.__dict__.pop(SEARCHED_BEFORE, None)
    if before is not None and before == _searched(instance):
        return
    for product_id in instance.products.values_list("pk", flat=True):
        product_index_enqueue(product_id)

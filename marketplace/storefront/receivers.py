"""Any change to what the storefront shows invalidates its cached fragments.

Like the search index, this is bookkeeping rather than a business flow, and Oscar's dashboard writes
these models without our services, so it hangs on model signals. Writes that bypass ``save()``
(``QuerySet.update``) call ``catalogue_changed()`` themselves; stock levels are read live and change nothing.
"""

from typing import Any

from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from oscar.core.loading import get_model

from marketplace.storefront.caching import catalogue_changed

WATCHED = [
    ("catalogue", "Product"),
    ("catalogue", "ProductImage"),
    ("catalogue", "ProductCategory"),
    ("catalogue", "ProductAttributeValue"),
    ("catalogue", "Category"),
    ("catalogue", "Certification"),
    ("partner", "Partner"),
    ("partner", "StockRecord"),
    ("places", "Region"),
    ("reviews", "ProductReview"),
]
StockRecord = get_model("partner", "StockRecord")


# Stock levels are read live by the pages that show them (marketplace/partner/stock.py), so a save that
# names only these fields leaves the cached catalogue as it is.
LIVE_STOCK_FIELDS = frozenset({"num_in_stock", "num_allocated"})


def _changed(sender: type[Model], update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    if sender is StockRecord and update_fields and update_fields <= LIVE_STOCK_FIELDS:
        return
    catalogue_changed()


def connect() -> None:
    for app_label, model_name in WATCHED:
        model = get_model(app_label, model_name)
        uid = f"storefront_cache_{app_label}_{model_name}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}_save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}_delete")
    Product = get_model("catalogue", "Product")
    m2m_changed.connect(
        _changed, sender=Product.certifications.through, dispatch_uid="storefront_cache_certifications"
    )

"""A parcel's trace page keeps where its produce grew drawn in the database (``trace.py``, the ``{% kept %}``
parts of harvest/trace.html): every change to what those parts show draws them again, in the change's own
transaction. Like the storefront's cards, this is bookkeeping rather than a business flow, and Oscar's
dashboard and the admin write these models without our services, so it hangs on model signals; the
writes that bypass ``save()`` (the batches' draws, the orchard's roll-ups) call it themselves."""

import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save
from oscar.core.loading import get_model

from marketplace.storefront.kept import kept_stale_all
from shops.harvest.models import BatchPhoto, HarvestBatch, ParcelTrace
from shops.harvest.trace import SEASON_DAYS, TRACE_SCOPE, traces_stale
from shops.orchard.ingest import daily_rollups_follow
from shops.orchard.models import Plot

Product = get_model("catalogue", "Product")

# Shown by many traces (a shop's or a place's name, a certification's): every trace's parts.
EVERY_TRACE = [
    get_model("partner", "Partner"),
    get_model("places", "Region"),
    get_model("catalogue", "Certification"),
]


def _traces_of_product(product_id: int) -> "QuerySet[ParcelTrace]":
    return ParcelTrace.objects.filter(shop_order__order__lines__product=product_id)


def _traces_of(instance: Model) -> "QuerySet[ParcelTrace] | None":
    if isinstance(instance, Product):
        return _traces_of_product(instance.pk)
    if isinstance(instance, HarvestBatch):
        return ParcelTrace.objects.filter(shop_order__order__lines__harvest_draws__batch=instance.pk)
    if isinstance(instance, BatchPhoto):
        return ParcelTrace.objects.filter(shop_order__order__lines__harvest_draws__batch=instance.batch_id)
    if isinstance(instance, Plot):
        return ParcelTrace.objects.filter(shop_order__order__lines__harvest_draws__batch__plot=instance.pk)
    return None


def _changed(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if sender in EVERY_TRACE:
        kept_stale_all(scope=TRACE_SCOPE)
        return
    traces = _traces_of(instance)
    if traces is not None:
        traces_stale(traces)


def _certifications_changed(
    instance: Model, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if not action.startswith("post_"):
        return
    if reverse:
        # A certification's products changed: every trace (rare; its products are not known after a clear).
        kept_stale_all(scope=TRACE_SCOPE)
    else:
        traces_stale(_traces_of_product(instance.pk))


def _seasons_moved(earliest: dict[int, datetime.date]) -> None:
    """Roll-ups of these plots moved from these days on: the traces whose batches' seasons hold them."""
    if not earliest:
        return
    batch = "shop_order__order__lines__harvest_draws__batch"
    seasons = Q()
    for plot_id, day in earliest.items():
        last_picking = day + datetime.timedelta(days=SEASON_DAYS)
        seasons |= Q(
            **{
                f"{batch}__plot": plot_id,
                f"{batch}__picked_on__gte": day,
                f"{batch}__picked_on__lte": last_picking,
            }
        )
    traces_stale(ParcelTrace.objects.filter(seasons))


def connect() -> None:
    for model in (*EVERY_TRACE, Product, HarvestBatch, BatchPhoto, Plot):
        uid = f"harvest_trace_{model._meta.label_lower}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}_save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}_delete")
    m2m_changed.connect(
        _certifications_changed,
        sender=Product.certifications.through,
        dispatch_uid="harvest_trace_certifications",
    )
    daily_rollups_follow(_seasons_moved)

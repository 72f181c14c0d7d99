"""Reads of harvest batches for the console."""

from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet

from shops.harvest.models import HarvestBatch

if TYPE_CHECKING:
    from oscar.apps.partner.models import Partner

CONSOLE_BATCHES = 100


def console_batches(*, shop: "Partner") -> QuerySet[HarvestBatch]:
    """The shop's latest batches with their plot, listings and how many order lines drew from them."""
    return (
        HarvestBatch.objects.filter(shop=shop)
        .select_related("plot")
        .prefetch_related("products")
        .annotate(lines_drawn=Count("draws"))
        .order_by("-picked_on", "-pk")[:CONSOLE_BATCHES]
    )

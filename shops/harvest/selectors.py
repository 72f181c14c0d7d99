"""Reads of harvest batches for the console."""

from django.db.models import Count, QuerySet

from shops.harvest.models import HarvestBatch

CONSOLE_BATCHES = 100


def console_batches(*, shop: object) -> QuerySet[HarvestBatch]:
    """The shop's latest batches with their plot, listings and how many order lines drew from them."""
    return (
        HarvestBatch.objects.filter(shop=shop)
        .select_related("plot")
        .prefetch_related("products")
        .annotate(lines_drawn=Count("draws"))
        .order_by("-picked_on", "-pk")[:CONSOLE_BATCHES]
    )

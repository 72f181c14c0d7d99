"""The home page's "fresh this season" list, kept rather than ordered per page.

Ordering every product in season to show twelve grew with the catalogue (52 ms at 100,000 products on
SQLite, whose planner starts from another index whatever the statistics say). So the twelve are picked
(``selectors.products_in_season``) by the catalogue-change subscriber after every change, for the month of
the day, and kept in ``SeasonPick``; the home page reads them. A month without a pick (the first page of a
new month, a fresh database) picks it then. A product that leaves the shelf leaves the pick at the
change's delivery; meanwhile its card is not drawn (``cards`` draws only products on sale).
"""

from django.db import DatabaseError, transaction
from django.utils import timezone

from marketplace.storefront import selectors
from marketplace.storefront.models import SeasonPick

PICK_SIZE = 12


def season_pick_refresh() -> list[int]:
    """Pick this month's products in season again and keep them; the other months' picks are dropped (a
    month is picked afresh when it comes)."""
    month = timezone.localdate().month
    ids = selectors.products_in_season(limit=PICK_SIZE)
    SeasonPick.objects.update_or_create(month=month, defaults={"product_ids": ids})
    SeasonPick.objects.exclude(month=month).delete()
    return ids


def season_pick(*, limit: int = PICK_SIZE) -> list[int]:
    """This month's products in season, most seasonal first, as kept (one query), picked now if not yet."""
    kept = SeasonPick.objects.filter(month=timezone.localdate().month).values_list("product_ids", flat=True)
    for ids in kept:
        return [int(pk) for pk in ids][:limit]
    try:
        with transaction.atomic():
            return season_pick_refresh()[:limit]
    except DatabaseError:  # a database that refuses the write: picked for this page only
        return selectors.products_in_season(limit=limit)

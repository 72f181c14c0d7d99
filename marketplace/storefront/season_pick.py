"""The home page's "fresh this season" list, kept rather than ordered per page.

Ordering every product in season to show twelve grew with the catalogue (52 ms at 100,000 products on
SQLite, whose planner starts from another index whatever the statistics say). So the twelve are picked
(``selectors.products_in_season``) by the catalogue-change subscriber after every change, for the month of
the day, and kept in ``SeasonPick``; the home page reads them. A month without a pick (the first page of a
new month, a fresh database) picks it then. A product that leaves the shelf leaves the pick at the
change's delivery; meanwhile its card is not drawn (``cards`` draws only products on sale).
"""

from django.utils import timezone

from marketplace.storefront import selectors
from marketplace.storefront.models import SeasonPick
from marketplace.storefront.picks import kept_or_picked

PICK_SIZE = 12


def _keep(month: int, ids: list[int]) -> None:
    SeasonPick.objects.update_or_create(month=month, defaults={"product_ids": ids})
    SeasonPick.objects.exclude(month=month).delete()


def season_pick_refresh() -> list[int]:
    """Pick this month's products in season again and keep them; the other months' picks are dropped (a
    month is picked afresh when it comes)."""
    ids = selectors.products_in_season(limit=PICK_SIZE)
    _keep(timezone.localdate().month, ids)
    return ids


def season_pick(*, limit: int = PICK_SIZE) -> list[int]:
    """This month's products in season, most seasonal first, as kept (one query), picked now if not yet."""
    month = timezone.localdate().month
    return kept_or_picked(
        SeasonPick.objects.filter(month=month).values_list("product_ids", flat=True),
        pick=lambda: selectors.products_in_season(limit=PICK_SIZE),
        keep=lambda ids: _keep(month, ids),
    )[:limit]

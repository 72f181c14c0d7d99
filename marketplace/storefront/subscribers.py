"""What the storefront does when the outbox says so: bump the catalogue version, add view counts."""

from collections.abc import Callable

from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe
from marketplace.storefront.analytics import (
    ADDITIONS,
    PRODUCT_VIEWS_COUNTED,
    VIEWS,
    order_purchases_record,
    orders_purchases_record,
    product_views_add,
)
from marketplace.storefront.caching import CATALOGUE_CHANGED, catalogue_version_bump
from marketplace.storefront.category_pick import category_picks_refresh
from marketplace.storefront.kept import HOME_KEY, HOME_SCOPE, kept_stale
from marketplace.storefront.lists_moved import Reach, lists_moved_take
from marketplace.storefront.season_pick import season_pick_refresh
from marketplace.storefront.shop_counts import category_product_counts_refresh, shop_product_counts_refresh

# Lists other apps keep for the storefront's pages (the search's kept first pages), made again with the
# storefront's own before the version moves on: ``kept_list_follows_catalogue`` adds one.
_kept_lists: list[Callable[[Reach], object]] = []


def kept_list_follows_catalogue(refresh: Callable[[Reach], object]) -> None:
    """Run ``refresh(reach)`` on every catalogue change that moved a list (``reach``: which, see
    ``lists_moved.py``), before pages cached under the old version retire."""
    _kept_lists.append(refresh)


def catalogue_changes_deliver(keys: list[str]) -> None:
    """For the catalogue changes of ``keys`` (one or several delivered together): the lists they may have
    moved (``lists_moved_take``) made again — the shops' and categories' counts (the home page's kept shops
    drawn again where a count moved), the season's pick, the categories' first pages (``season_pick``,
    ``category_pick``) and the lists other apps keep — then the catalogue version bumped once, so pages
    cached with the old lists retire (one rendered in the moment before this commits keeps them for at most
    ``STOREFRONT_CACHE_SECONDS``)."""
    reach = lists_moved_take(keys=keys)
    if not reach.is_empty:
        shops = None if reach.everything else reach.shops
        categories = None if reach.everything else reach.categories
        if shop_product_counts_refresh(shops=shops):  # the home page's shop cards show the counts
            kept_stale(scope=HOME_SCOPE, keys=[HOME_KEY])
        category_product_counts_refresh(categories=categories)
        season_pick_refresh()
        category_picks_refresh(categories=categories)
        for refresh in _kept_lists:
            refresh(reach)
    catalogue_version_bump()


subscribe(
    topic=CATALOGUE_CHANGED,
    name="storefront.catalogue_version_bump",
    run=lambda key, payload: catalogue_changes_deliver([key]),
    run_many=lambda events: catalogue_changes_deliver([key for key, _payload in events]),
)
subscribe(
    topic=ORDER_PAID,
    name="storefront.purchases_count",
    run=lambda key, payload: order_purchases_record(order_id=payload["order_id"]),
    run_many=lambda events: orders_purchases_record(
        order_ids=[payload["order_id"] for _key, payload in events]
    ),
)
subscribe(
    topic=PRODUCT_VIEWS_COUNTED,
    name="storefront.product_views_add",
    run=lambda key, payload: product_views_add(
        counts={int(product_id): n for product_id, n in payload.get(VIEWS, {}).items()},
        additions={int(product_id): n for product_id, n in payload.get(ADDITIONS, {}).items()},
    ),
)

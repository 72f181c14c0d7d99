"""The search index follows product changes (from the outbox), and the kept searches follow the index and
the catalogue (``picks.py``)."""

from typing import Any

from marketplace.outbox.services import outbox_keys_emitted, subscribe
from marketplace.search.indexing import product_index
from marketplace.search.picks import search_picks_refresh, search_picks_touched
from marketplace.search.tasks import PRODUCT_CHANGED, product_change_key
from marketplace.storefront.lists_moved import Reach
from marketplace.storefront.selectors import storefront_products
from marketplace.storefront.subscribers import kept_list_follows_catalogue


def product_changed_deliver(key: str, payload: dict[str, Any]) -> None:
    """The product reindexed, then the kept searches its old or new tokens could list picked again."""
    change = product_index(product_id=payload["product_id"])
    search_picks_touched(before=change.before, after=change.after, products=storefront_products())


subscribe(topic=PRODUCT_CHANGED, name="search.product_index", run=product_changed_deliver)


def catalogue_changes_follow(reach: Reach) -> None:
    """The kept searches the catalogue changes reach picked again, but for the products saved in the same
    change: their own reindex (``product_changed_deliver``, keyed by the product and the change's key)
    picks those searches again, from their words before and after."""
    if reach.everything:
        search_picks_refresh(products=storefront_products())
        return
    reindexed = outbox_keys_emitted(
        topic=PRODUCT_CHANGED, keys=[product_change_key(pk, key) for key, pk in reach.named_by]
    )
    covered = [pk for key, pk in reach.named_by if product_change_key(pk, key) in reindexed]
    search_picks_refresh(products=storefront_products(), reached=reach.products_reached(covered=covered))


kept_list_follows_catalogue(catalogue_changes_follow)

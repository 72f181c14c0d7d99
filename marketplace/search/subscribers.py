"""The search index follows product changes (from the outbox), and the kept searches follow the index and
the catalogue (``picks.py``)."""

from typing import Any

from marketplace.outbox.services import subscribe
from marketplace.search.indexing import product_index
from marketplace.search.picks import search_picks_refresh, search_picks_touched
from marketplace.search.tasks import PRODUCT_CHANGED
from marketplace.storefront.selectors import storefront_products
from marketplace.storefront.subscribers import kept_list_follows_catalogue


def product_changed_deliver(key: str, payload: dict[str, Any]) -> None:
    """The product reindexed, then the kept searches its old or new tokens could list picked again."""
    change = product_index(product_id=payload["product_id"])
    search_picks_touched(before=change.before, after=change.after, products=storefront_products())


subscribe(topic=PRODUCT_CHANGED, name="search.product_index", run=product_changed_deliver)
kept_list_follows_catalogue(
    lambda reach: search_picks_refresh(
        products=storefront_products(), reached=None if reach.everything else reach.products_reached()
    )
)

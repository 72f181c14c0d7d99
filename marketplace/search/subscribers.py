"""The search index follows product changes (from the outbox)."""

from marketplace.outbox.services import subscribe
from marketplace.search.indexing import product_index
from marketplace.search.tasks import PRODUCT_CHANGED

subscribe(
    topic=PRODUCT_CHANGED,
    name="search.product_index",
    run=lambda key, payload: product_index(product_id=payload["product_id"]),
)

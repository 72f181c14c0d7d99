"""The search index's follow-ups: a changed product is reindexed through the outbox (subscribers.py)."""

from marketplace.outbox.services import outbox_emit, transaction_key

# Written to the outbox when a product (or a name it is found by) changes; once per product and commit.
PRODUCT_CHANGED = "search.product_changed"


def product_index_enqueue(product_id: int) -> None:
    """Reindex the product once the current transaction commits (at once when there is none)."""
    outbox_emit(
        topic=PRODUCT_CHANGED,
        key=f"{product_id}.{transaction_key()}",
        payload={"product_id": product_id},
    )

"""The search index's follow-ups: a changed product is reindexed through the outbox (subscribers.py)."""

from marketplace.outbox.services import outbox_emit, transaction_key

# Written to the outbox when a product (or a name it is found by) changes; once per product and commit.
PRODUCT_CHANGED = "search.product_changed"


def product_change_key(product_id: int, change_key: str) -> str:
    """The reindex's outbox key: the product and its transaction's key (the catalogue change's too)."""
    return f"{product_id}.{change_key}"


def product_index_enqueue(product_id: int) -> None:
    """Reindex the product once the current transaction commits (at once when there is none)."""
    outbox_emit(
        topic=PRODUCT_CHANGED,
        key=product_change_key(product_id, transaction_key()),
        payload={"product_id": product_id},
    )

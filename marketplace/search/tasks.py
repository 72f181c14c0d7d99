"""Celery tasks of the search index: thin, idempotent, enqueued on commit."""

from celery import shared_task

from marketplace.search.indexing import product_index


@shared_task(
    name="search.product_index",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def product_index_task(product_id: int) -> bool:
    return product_index(product_id=product_id)


def product_index_enqueue(product_id: int) -> None:
    """Reindex after the current transaction commits (at once when there is none)."""
    product_index_task.delay_on_commit(product_id)

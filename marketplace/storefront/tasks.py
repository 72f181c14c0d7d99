"""Celery tasks of the storefront: thin, they call a service."""

from celery import shared_task

from marketplace.storefront.analytics import product_views_add


@shared_task(name="storefront.product_views_add", autoretry_for=(ConnectionError,), max_retries=5)
def product_views_add_task(counts: dict[str, int]) -> None:
    product_views_add(counts={int(product_id): views for product_id, views in counts.items()})

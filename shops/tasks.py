"""Celery tasks of the shops: thin, idempotent, enqueued on commit."""

from celery import shared_task

from shops import photos


# OSError covers the storage being briefly unreachable; anything else is a bug worth seeing at once.
@shared_task(
    name="shops.product_photo_renditions", autoretry_for=(OSError,), retry_backoff=True, max_retries=3
)
def product_photo_renditions(photo_id: int) -> bool:
    return photos.product_photo_renditions_draw(photo_id=photo_id)

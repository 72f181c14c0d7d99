"""Celery tasks of payments: thin and idempotent."""

from celery import shared_task
from django.utils import timezone

from marketplace.payments.models import StripeEvent
from marketplace.payments.services import payment_sync, refunds_pending_sync


@shared_task(
    name="payments.stripe_event_process", autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=8
)
def stripe_event_process_task(event_pk: int) -> None:
    event = StripeEvent.objects.get(pk=event_pk)
    if event.object_id.startswith("pi_"):
        payment_sync(intent_id=event.object_id)
    StripeEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(processed_at=timezone.now())


@shared_task(name="payments.refunds_pending_sync")
def refunds_pending_sync_task() -> int:
    return refunds_pending_sync()

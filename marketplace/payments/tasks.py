"""Celery tasks of payments: thin and idempotent. (Webhook events are processed through the outbox.)"""

from celery import shared_task

from marketplace.payments.services import refunds_pending_sync


@shared_task(name="payments.refunds_pending_sync")
def refunds_pending_sync_task() -> int:
    return refunds_pending_sync()

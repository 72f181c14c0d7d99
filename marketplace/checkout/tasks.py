"""Celery tasks of the checkout: thin, idempotent. (Its e-mails go through the outbox: subscribers.py.)"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from marketplace.order.cancellation import orders_unpaid_release


@shared_task(name="checkout.orders_unpaid_release")
def orders_unpaid_release_task() -> int:
    return orders_unpaid_release(older_than=timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES))

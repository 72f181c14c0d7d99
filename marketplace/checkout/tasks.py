"""Celery tasks of the checkout: thin, idempotent."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from marketplace.checkout import notifications
from marketplace.checkout.cancellation import orders_unpaid_release


@shared_task(name="checkout.orders_unpaid_release")
def orders_unpaid_release_task() -> int:
    return orders_unpaid_release(older_than=timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES))


@shared_task(name="checkout.order_paid_notify", autoretry_for=(ConnectionError, OSError), max_retries=5)
def order_paid_notify_task(order_id: int) -> None:
    notifications.order_paid_notify(order_id=order_id)


@shared_task(name="checkout.payment_failed_notify", autoretry_for=(ConnectionError, OSError), max_retries=5)
def payment_failed_notify_task(payment_id: int) -> None:
    notifications.payment_failed_notify(payment_id=payment_id)


@shared_task(name="checkout.refund_notify", autoretry_for=(ConnectionError, OSError), max_retries=5)
def refund_notify_task(refund_id: int) -> None:
    notifications.refund_notify(refund_id=refund_id)

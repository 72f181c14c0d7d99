"""Cancelling shop orders: a shop (or the association) cancelling a part it cannot fulfil, and the
marketplace cancelling orders never paid. Cancelling releases the part's stock and, when it was paid,
refunds exactly that part through Stripe."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.locks import for_update
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition
from marketplace.outbox.services import outbox_emit
from marketplace.payments.models import Payment
from marketplace.payments.services import payment_cancel, payment_sync, shop_order_refund

S = ShopOrder.Status
# A paid shop order was cancelled before it left: what was set aside for it (harvest draws) goes back.
PAID_SHOP_ORDER_CANCELLED = "order.paid_shop_order_cancelled"


def shop_order_cancel(*, shop_order_id: int, actor: AbstractBaseUser | None = None, reason: str) -> ShopOrder:
    """Cancel one shop order before it is handed to logistics; refund it if it was paid."""
    with transaction.atomic():
        shop_order = for_update(ShopOrder.objects.all()).get(pk=shop_order_id)
        was_paid = shop_order.status != S.PENDING_PAYMENT
        shop_order_transition(shop_order_id=shop_order.pk, to_status=S.CANCELLED, actor=actor, reason=reason)
        if was_paid:
            outbox_emit(
                topic=PAID_SHOP_ORDER_CANCELLED,
                key=str(shop_order.pk),
                payload={"shop_order_id": shop_order.pk, "shop_id": shop_order.shop_id},
            )
    if was_paid:
        shop_order_refund(shop_order_id=shop_order.pk, actor=actor, reason=reason)
        shop_order_transition(shop_order_id=shop_order.pk, to_status=S.REFUNDED, actor=actor, reason=reason)
    shop_order.refresh_from_db()
    return shop_order


def orders_unpaid_release(*, older_than: timedelta) -> int:
    """Cancel orders still unpaid after ``older_than``: their stock goes back on sale and their open
    PaymentIntents are cancelled at Stripe. Returns how many shop orders were cancelled. Idempotent."""
    cutoff = timezone.now() - older_than
    order_ids = (
        ShopOrder.objects.filter(status=S.PENDING_PAYMENT, created_at__lt=cutoff)
        .values_list("order_id", flat=True)
        .distinct()
    )
    cancelled = 0
    for order_id in list(order_ids):
        # Stripe may have taken the money without us hearing of it yet: ask before cancelling.
        for payment in Payment.objects.filter(order_id=order_id).exclude(status=Payment.Status.FAILED):
            payment_sync(intent_id=payment.intent_id)
        if Payment.objects.filter(order_id=order_id, status=Payment.Status.SUCCEEDED).exists():
            continue
        for shop_order in ShopOrder.objects.filter(order_id=order_id, status=S.PENDING_PAYMENT):
            shop_order_cancel(shop_order_id=shop_order.pk, reason=_("Not paid in time"))
            cancelled += 1
        for payment in Payment.objects.filter(
            order_id=order_id, status__in=[Payment.Status.REQUIRES_PAYMENT, Payment.Status.REQUIRES_ACTION]
        ):
            payment_cancel(intent_id=payment.intent_id)
    return cancelled

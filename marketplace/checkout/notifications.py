"""Emails about orders: confirmation to the buyer (grouped by shop), a new-order notice to each shop's
farmers, payment failed and refund; each sent once through ``marketplace.outbox.notices``."""

from typing import TYPE_CHECKING

from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder
from marketplace.outbox.notices import notice_send_once
from marketplace.payments.models import Payment, Refund

if TYPE_CHECKING:
    from oscar.apps.order.models import Order
else:
    Order = get_model("order", "Order")


def _buyer_email(order: "Order") -> str:
    return order.user.email if order.user_id else order.guest_email


def order_paid_notify(*, order_id: int) -> None:
    order = Order.objects.select_related("user").get(pk=order_id)
    shop_orders = list(
        ShopOrder.objects.filter(order=order).select_related("shop").prefetch_related("shop__users")
    )
    lines = list(order.lines.all())
    groups = [(so, [line for line in lines if line.partner_id == so.shop_id]) for so in shop_orders]
    notice_send_once(
        kind="order-confirmation",
        key=str(order.number),
        recipients=[_buyer_email(order)],
        template="order_confirmation",
        context={"order": order, "groups": groups},
    )
    for shop_order, shop_lines in groups:
        notice_send_once(
            kind="shop-new-order",
            key=shop_order.number,
            recipients=[user.email for user in shop_order.shop.users.all()],
            template="shop_new_order",
            context={"shop_order": shop_order, "lines": shop_lines, "order": order},
        )


def payment_failed_notify(*, payment_id: int) -> None:
    payment = Payment.objects.select_related("order", "order__user").get(pk=payment_id)
    notice_send_once(
        kind="payment-failed",
        key=payment.intent_id,
        recipients=[_buyer_email(payment.order)],
        template="payment_failed",
        context={"payment": payment, "order": payment.order},
    )


def refund_notify(*, refund_id: int) -> None:
    refund = Refund.objects.select_related("shop_order__order__user", "shop_order__shop").get(pk=refund_id)
    order = refund.shop_order.order
    notice_send_once(
        kind="refund",
        key=str(refund.pk),
        recipients=[_buyer_email(order)],
        template="refund",
        context={"refund": refund, "order": order},
    )

"""The buyer's and the shops' e-mails about orders, sent when the outbox says so."""

from marketplace.checkout import notifications
from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe
from marketplace.payments.services import PAYMENT_FAILED, REFUND_CREATED

subscribe(
    topic=ORDER_PAID,
    name="checkout.order_paid_notify",
    run=lambda key, payload: notifications.order_paid_notify(order_id=payload["order_id"]),
)
subscribe(
    topic=PAYMENT_FAILED,
    name="checkout.payment_failed_notify",
    run=lambda key, payload: notifications.payment_failed_notify(payment_id=payload["payment_id"]),
)
subscribe(
    topic=REFUND_CREATED,
    name="checkout.refund_notify",
    run=lambda key, payload: notifications.refund_notify(refund_id=payload["refund_id"]),
)

"""Emails about orders: confirmation to the buyer (grouped by shop), a new-order notice to each shop's
farmers, payment failed, refund, and ``notice_send_once`` that every notice of the marketplace goes through.

The guarantee is at-least-once with a de-duplication key. A notice is sent from an outbox row (so a
rolled-back order sends nothing, and a notice is never lost); the ``SentNotification`` row that claims
it is written in the same transaction as that outbox row is marked done. A second delivery finds the
claim and sends nothing. Only a process killed between handing the mail to the server and that commit
sends it again, and then with the same Message-ID (``<kind.key@domain>``), by which mail clients and
servers drop the copy."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template import engines
from django.utils import translation
from oscar.core.loading import get_model

from marketplace.checkout.models import SentNotification
from marketplace.payments.models import Payment, Refund
from shops.models import ShopOrder

Order = get_model("order", "Order")


def _buyer_email(order) -> str:
    return order.user.email if order.user_id else order.guest_email


def notice_message_id(*, kind: str, key: str) -> str:
    """The notice's de-duplication key as a Message-ID: the same for every copy of one notice."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "localhost"
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in f"{kind}.{key}")
    return f"<{safe}@{domain}>"


def notice_send_once(*, kind: str, key: str, recipients: list[str], template: str, context: dict) -> bool:
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        text = engines["text"]  # plain text: no HTML escaping
        # One line, whatever a typed name holds: a newline in a subject is a header injection.
        subject = " ".join(text.get_template(f"emails/{template}_subject.txt").render(context).split())
        body = text.get_template(f"emails/{template}.txt").render(context)
    try:
        with transaction.atomic():
            SentNotification.objects.create(kind=kind, key=key, recipients=", ".join(recipients))
            EmailMessage(
                subject,
                body,
                settings.DEFAULT_FROM_EMAIL,
                recipients,
                headers={"Message-ID": notice_message_id(kind=kind, key=key)},
            ).send()
    except IntegrityError:
        return False  # already sent
    return True


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

"""Talking to Stripe. Every POST carries an idempotency key made of our own ids; an order is paid only
when Stripe says so, whichever of the buyer's return or the webhook tells us first."""

import contextlib
import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.payments.models import Payment, Refund, RefundLine
from shops.models import ShopOrder
from shops.orders import shop_order_transition

logger = logging.getLogger(__name__)

MINOR_UNITS = Decimal("100")  # CNY: fen

# The payment method a buyer chooses instead of a card: no Stripe.js token, Stripe answers with a QR code.
WECHAT_PAY = "wechat_pay"
# An attempt that ended without paying: the buyer may try again.
ENDED = (Payment.Status.FAILED, Payment.Status.CANCELED)


class RefundError(ValueError):
    pass


class PaymentMethodUnavailable(ValueError):
    """The buyer chose a way to pay that is not offered (WeChat Pay while it is switched off)."""


def stripe_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )


def to_minor(amount: Decimal) -> int:
    return int((amount * MINOR_UNITS).to_integral_value())


def wechat_pay_offered() -> bool:
    return settings.STRIPE_WECHAT_PAY


def payment_methods() -> list[str]:
    return ["card", WECHAT_PAY] if wechat_pay_offered() else ["card"]


def _intent_params(order, payment_method: str) -> dict:
    params = {
        "amount": to_minor(order.total_incl_tax),
        "currency": order.currency.lower(),
        "metadata": {"order_number": str(order.number)},
        # Separate charges and transfers: the order number tags the charge for reconciliation; the shops'
        # monthly payouts are grouped by their statement number, not by order.
        "transfer_group": str(order.number),
    }
    if payment_method == WECHAT_PAY:
        return {
            **params,
            "payment_method_types": [WECHAT_PAY],
            "payment_method_data": {"type": WECHAT_PAY},
            "payment_method_options": {WECHAT_PAY: {"client": "web"}},
        }
    return {**params, "payment_method_types": payment_methods(), "payment_method": payment_method}


def payment_attempt(*, order, payment_method: str, return_url: str = "") -> Payment:
    """Pay ``order`` with a card Stripe.js made in the buyer's browser (the card number never reaches
    us), or with ``WECHAT_PAY``: create the PaymentIntent for the order's total, confirm it, and record
    what Stripe answered. A card is charged at once; WeChat Pay waits, ``requires_action``, for the buyer
    to scan the QR code Stripe drew (``wechat_pay_code``), and Stripe sends the buyer back to
    ``return_url``. Retrying the same call (a double click, a replayed POST) reuses the same intent; after
    a WeChat Pay attempt failed or was cancelled, the next one is a new intent."""
    if payment_method == WECHAT_PAY and not wechat_pay_offered():
        raise PaymentMethodUnavailable(payment_method)
    paid = Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).first()
    if paid is not None:
        return paid  # never charge an order twice
    if payment_method != WECHAT_PAY:
        # A QR code still waiting to be scanned could be paid too: cancel it before charging the card.
        for waiting in Payment.objects.filter(
            order=order, payment_method=WECHAT_PAY, status=Payment.Status.REQUIRES_ACTION
        ):
            cancelled = payment_cancel(intent_id=waiting.intent_id)
            if cancelled.status == Payment.Status.SUCCEEDED:
                return cancelled  # scanned and paid just before: the card is not charged
    attempts = Payment.objects.filter(order=order, payment_method=payment_method).order_by("-pk")
    earlier = attempts.first()
    if earlier is not None:
        earlier = payment_sync(intent_id=earlier.intent_id)
        if payment_method != WECHAT_PAY or earlier.status not in ENDED:
            return earlier
    # The first attempt's key is order-<number>-<method>; a new WeChat Pay attempt after one ended counts on.
    count = attempts.count()
    key = f"order-{order.number}-{payment_method}" + (f"-{count + 1}" if count else "")
    client = stripe_client()
    intent = client.v1.payment_intents.create(
        params=_intent_params(order, payment_method), options={"idempotency_key": key}
    )
    payment, _created = Payment.objects.get_or_create(
        intent_id=intent.id,
        defaults={
            "order": order,
            "payment_method": payment_method,
            "client_secret": intent.client_secret,
            "amount": order.total_incl_tax,
            "currency": order.currency,
        },
    )
    if intent.status == "requires_confirmation":
        confirm = {"return_url": return_url} if payment_method == WECHAT_PAY and return_url else None
        try:
            client.v1.payment_intents.confirm(
                intent.id, params=confirm, options={"idempotency_key": f"confirm-{intent.id}"}
            )
        except stripe.CardError as error:
            # The status follows from the intent (payment_sync below); keep Stripe's words for the buyer.
            Payment.objects.filter(pk=payment.pk).update(failure_message=error.user_message or str(error))
    return payment_sync(intent_id=intent.id)


@transaction.atomic
def payment_sync(*, intent_id: str) -> Payment:
    """Ask Stripe for the intent's state and bring ours in line. Safe to call any number of times,
    in any order: only Stripe's current answer counts, and paying happens once."""
    payment = Payment.objects.select_for_update().get(intent_id=intent_id)
    intent = stripe_client().v1.payment_intents.retrieve(intent_id)
    if intent.amount != to_minor(payment.amount) or intent.currency != payment.currency.lower():
        raise ValueError(f"intent {intent_id} does not match order {payment.order_id}")
    if payment.status == Payment.Status.SUCCEEDED:
        return payment
    from logistics.tasks import consignment_route_task  # imported late (cycle through checkout)
    from marketplace.checkout import tasks as checkout_tasks  # the checkout's notices; imported late (cycle)
    from marketplace.sales.tasks import facts_refresh_enqueue  # imported late (sales reads payments)

    previous = payment.status
    if intent.status == "succeeded":
        payment.status = Payment.Status.SUCCEEDED
        payment.paid_at = timezone.now()
        payment.failure_message = ""
        payment.save(update_fields=["status", "paid_at", "failure_message"])
        sales: dict[datetime.date, list[int]] = defaultdict(list)
        for shop_order in ShopOrder.objects.filter(
            order_id=payment.order_id, status=ShopOrder.Status.PENDING_PAYMENT
        ):
            event = shop_order_transition(
                shop_order_id=shop_order.pk, to_status=ShopOrder.Status.PAID, reason="stripe"
            )
            sales[timezone.localdate(event.created_at)].append(shop_order.shop_id)
            # Paid: plan its parcel's route with the logistics partners (after commit, on a worker).
            consignment_route_task.delay_on_commit(shop_order.pk)
        # New sales: the sales review's facts of their shops and day are recomputed after commit.
        for day, shop_ids in sales.items():
            facts_refresh_enqueue(shop_ids=shop_ids, day=day)
        checkout_tasks.order_paid_notify_task.delay_on_commit(payment.order_id)
    elif intent.status == "canceled":
        payment.status = Payment.Status.CANCELED
        payment.save(update_fields=["status"])
    elif intent.status in ("processing", "requires_action"):
        payment.status = (
            Payment.Status.PROCESSING if intent.status == "processing" else Payment.Status.REQUIRES_ACTION
        )
        payment.save(update_fields=["status"])
    elif intent.last_payment_error:
        payment.status = Payment.Status.FAILED
        payment.failure_message = getattr(intent.last_payment_error, "message", "") or payment.failure_message
        payment.save(update_fields=["status", "failure_message"])
        if previous != Payment.Status.FAILED:
            checkout_tasks.payment_failed_notify_task.delay_on_commit(payment.pk)
    return payment


def payment_cancel(*, intent_id: str) -> Payment:
    """Cancel an attempt still open at Stripe (a QR code nobody scanned, an order not paid in time) and
    record what Stripe then says: if it was paid meanwhile, it stays paid."""
    # Not cancellable any more means it succeeded or ended meanwhile: payment_sync records which.
    with contextlib.suppress(stripe.InvalidRequestError):
        stripe_client().v1.payment_intents.cancel(
            intent_id, options={"idempotency_key": f"cancel-{intent_id}"}
        )
    return payment_sync(intent_id=intent_id)


@dataclass(frozen=True)
class WeChatPayCode:
    """The QR code a buyer scans with WeChat to pay an order, as Stripe drew it."""

    payment: Payment
    image_url: str  # a data: URL (or Stripe's PNG), for an <img>
    data: str  # the weixin:// link the code holds


def wechat_pay_code(*, order) -> WeChatPayCode | None:
    """The QR code of ``order``'s WeChat Pay attempt while Stripe still waits for its scan, read from
    Stripe; None when there is none. An attempt that moved on meanwhile (paid, failed, cancelled) is
    recorded as Stripe now has it (payment_sync)."""
    payment = (
        Payment.objects.filter(order=order, payment_method=WECHAT_PAY, status=Payment.Status.REQUIRES_ACTION)
        .order_by("-pk")
        .first()
    )
    if payment is None:
        return None
    intent = stripe_client().v1.payment_intents.retrieve(payment.intent_id)
    action = intent.next_action
    if intent.status != "requires_action" or action is None or action.type != "wechat_pay_display_qr_code":
        payment_sync(intent_id=payment.intent_id)
        return None
    qr = action.wechat_pay_display_qr_code
    return WeChatPayCode(
        payment=payment,
        image_url=getattr(qr, "image_data_url", None) or getattr(qr, "image_url_png", ""),
        data=getattr(qr, "data", ""),
    )


def _lines_amount(shop_order: ShopOrder, lines: dict[int, int]) -> list[tuple[object, int, Decimal]]:
    """Check a per-line refund (order line id → quantity) and price it at what the buyer paid."""
    own = {line.pk: line for line in shop_order.lines()}
    already = dict(
        RefundLine.objects.filter(
            line_id__in=own, refund__status__in=[Refund.Status.SUCCEEDED, Refund.Status.PENDING]
        )
        .values_list("line_id")
        .annotate(q=Sum("quantity"))
        .values_list("line_id", "q")
    )
    priced = []
    for line_id, quantity in sorted(lines.items()):
        line = own.get(line_id)
        if line is None:
            raise RefundError(_("That line is not part of this shop's order."))
        if quantity <= 0 or quantity > line.quantity - already.get(line_id, 0):
            raise RefundError(
                _("At most %(n)s of “%(title)s” can still be refunded.")
                % {"n": line.quantity - already.get(line_id, 0), "title": line.title}
            )
        priced.append((line, quantity, (line.unit_price_incl_tax * quantity).quantize(Decimal("0.01"))))
    return priced


# Stripe's refund statuses → ours ("requires_action" and "pending" wait; "canceled" never pays back).
REFUND_STATUSES = {
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.FAILED,
}


def _refund_succeeded(refund: Refund) -> None:
    """Money went back: the sales review's facts of the refund's shop and day are recomputed after commit."""
    from marketplace.sales.tasks import facts_refresh_enqueue  # imported late (sales reads payments)

    facts_refresh_enqueue(shop_ids=[refund.shop_order.shop_id], day=timezone.localdate(refund.created_at))


@transaction.atomic
def refund_sync(*, refund_id: int) -> Refund:
    """Bring a refund that Stripe left pending in line with Stripe's answer now. Safe to repeat: a refund
    that is no longer pending is returned unchanged."""
    refund = Refund.objects.select_for_update().select_related("shop_order").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING or not refund.stripe_refund_id:
        return refund
    stripe_refund = stripe_client().v1.refunds.retrieve(refund.stripe_refund_id)
    status = REFUND_STATUSES.get(stripe_refund.status, Refund.Status.PENDING)
    if status != refund.status:
        refund.status = status
        refund.save(update_fields=["status"])
        if status == Refund.Status.SUCCEEDED:
            _refund_succeeded(refund)
    return refund


def refunds_pending_sync() -> int:
    """Refunds Stripe had not finished when they were made (money back can take days): ask again, so the
    sales facts and the next settlement statement see them once they succeed. One refund Stripe cannot
    answer for now is left for the next run. Returns how many were asked about."""
    pending = Refund.objects.filter(status=Refund.Status.PENDING).exclude(stripe_refund_id="")
    refund_ids = list(pending.values_list("pk", flat=True))
    for refund_id in refund_ids:
        try:
            refund_sync(refund_id=refund_id)
        except stripe.StripeError:
            logger.warning("refund %s: Stripe did not answer, asked again next run", refund_id, exc_info=True)
    return len(refund_ids)


def shop_order_refund(
    *,
    shop_order_id: int,
    amount: Decimal | None = None,
    lines: dict[int, int] | None = None,
    actor=None,
    reason: str = "",
) -> Refund:
    """Refund part of one shop order through Stripe: given ``lines`` (order line id → quantity) at the
    price paid for them, else ``amount``, else all that is left."""
    with transaction.atomic():
        shop_order = ShopOrder.objects.select_for_update().get(pk=shop_order_id)
        priced = _lines_amount(shop_order, lines) if lines else []
        if priced:
            amount = sum((line_amount for _line, _q, line_amount in priced), Decimal("0"))
        payment = Payment.objects.filter(
            order_id=shop_order.order_id, status=Payment.Status.SUCCEEDED
        ).first()
        if payment is None:
            raise RefundError(_("This order was never paid: there is nothing to refund."))
        refunded = shop_order.refunds.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount"))["s"]
        left = shop_order.total - (refunded or Decimal("0"))
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            raise RefundError(_("A refund must be more than ¥0 and at most ¥%(left)s.") % {"left": left})
        refund = Refund.objects.create(
            shop_order=shop_order, payment=payment, amount=amount, reason=reason, created_by=actor
        )
        RefundLine.objects.bulk_create(
            [RefundLine(refund=refund, line=line, quantity=q, amount=a) for line, q, a in priced]
        )
    try:
        stripe_refund = stripe_client().v1.refunds.create(
            params={"payment_intent": payment.intent_id, "amount": to_minor(amount)},
            options={"idempotency_key": f"refund-{refund.pk}"},
        )
    except stripe.StripeError as error:
        refund.status = Refund.Status.FAILED
        refund.reason = f"{reason}\n{error.user_message or error}".strip()
        refund.save(update_fields=["status", "reason"])
        raise RefundError(
            _("Stripe refused the refund: %(error)s") % {"error": error.user_message or error}
        ) from error
    refund.stripe_refund_id = stripe_refund.id
    refund.status = REFUND_STATUSES.get(stripe_refund.status, Refund.Status.PENDING)
    refund.save(update_fields=["stripe_refund_id", "status"])
    if refund.status == Refund.Status.SUCCEEDED:
        _refund_succeeded(refund)
    from marketplace.checkout.tasks import refund_notify_task  # imported late (cycle)

    refund_notify_task.delay_on_commit(refund.pk)
    return refund

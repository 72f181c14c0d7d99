"""Talking to Stripe. Every POST carries an idempotency key made of our own ids; an order is paid only
when Stripe says so, whichever of the buyer's return or the webhook tells us first."""

import contextlib
import datetime
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import stripe
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.ledger.services import ledger_refund_record
from marketplace.locks import for_update
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import order_lock, order_paid
from marketplace.outbox.services import outbox_emit
from marketplace.payments.models import Payment, PaymentClaim, Refund, RefundLine, StripeEvent

if TYPE_CHECKING:
    from oscar.apps.order.models import Line, Order
    from stripe.params import PaymentIntentConfirmParams, PaymentIntentCreateParams

logger = logging.getLogger(__name__)

MINOR_UNITS = Decimal("100")  # CNY: fen

# The payment method a buyer chooses instead of a card: no Stripe.js token, Stripe answers with a QR code.
WECHAT_PAY: Final = "wechat_pay"


class RefundError(ValueError):
    pass


class PaymentMethodUnavailable(ValueError):
    """The buyer chose a way to pay that is not offered (WeChat Pay while it is switched off)."""


class StripeCalledInTransaction(RuntimeError):
    """A Stripe call was made inside a database transaction of ours: it may hold row locks for as long as
    Stripe takes to answer (seconds), stalling every request that needs those rows."""


def in_app_transaction() -> bool:
    """Whether our code has a transaction open on this thread (a test case's own wrapper does not count)."""
    # Django sets ``_from_testcase`` on every Atomic; django-stubs does not declare it.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


class _OutsideTransactionsClient(stripe.RequestsClient):
    """Stripe's HTTP client, refusing (``STRIPE_IN_TRANSACTION=raise``, development and tests) or logging
    (production) a call made inside one of our transactions."""

    # The signature of stripe's RequestsClient.request, which itself differs from its base HTTPClient's.
    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: object = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        if in_app_transaction():
            if settings.STRIPE_IN_TRANSACTION == "raise":
                raise StripeCalledInTransaction(f"{method.upper()} {url}")
            logger.error("Stripe called inside a database transaction: %s %s", method.upper(), url)
        return super().request(method, url, headers, post_data)


_http_client = _OutsideTransactionsClient(timeout=30)


def stripe_client() -> stripe.StripeClient:
    """The Stripe client: never to be called inside a transaction (claim, call, record instead)."""
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
        http_client=_http_client,
    )


def to_minor(amount: Decimal) -> int:
    return int((amount * MINOR_UNITS).to_integral_value())


def wechat_pay_offered() -> bool:
    offered: bool = settings.STRIPE_WECHAT_PAY
    return offered


def payment_methods() -> list[str]:
    return ["card", WECHAT_PAY] if wechat_pay_offered() else ["card"]


def _intent_params(order: "Order", payment_method: str) -> "PaymentIntentCreateParams":
    params: PaymentIntentCreateParams = {
        "amount": to_minor(order.total_incl_tax),
        "currency": order.currency.lower(),
        "metadata": {"order_number": str(order.number)},
        # Separate charges and transfers: the order number tags the charge for reconciliation; the shops'
        # monthly payouts are grouped by their statement number, not by order.
        "transfer_group": str(order.number),
    }
    # stripe 16's types (its API version) name `payment_method_types` `allowed_payment_method_types`; we
    # send the name localstripe and the API we test against take.
    if payment_method == WECHAT_PAY:
        return {
            **params,
            "payment_method_types": [WECHAT_PAY],  # type: ignore[typeddict-unknown-key]
            "payment_method_data": {"type": WECHAT_PAY},
            "payment_method_options": {WECHAT_PAY: {"client": "web"}},
        }
    return {
        **params,
        "payment_method_types": payment_methods(),  # type: ignore[typeddict-unknown-key]
        "payment_method": payment_method,
    }


# Follow-ups written to the outbox (marketplace/outbox) by the services below.
PAYMENT_FAILED = "payment.failed"  # key: the intent id
PAYMENT_DUPLICATE = "payment.duplicate"  # key: the intent id of the extra charge
PAYMENT_DUPLICATE_REFUNDED = "payment.duplicate_refunded"  # key: the intent id; the association is told
REFUND_CREATED = "refund.created"  # key: the refund's id
REFUND_SUCCEEDED = "refund.succeeded"  # key: the refund's id
STRIPE_EVENT_RECEIVED = "stripe.event"  # key: Stripe's event id

# Attempts still open at Stripe: before a new intent is made for the order, they are settled or cancelled.
OPEN = (
    Payment.Status.REQUIRES_PAYMENT,
    Payment.Status.REQUIRES_ACTION,
    Payment.Status.PROCESSING,
    Payment.Status.FAILED,
)
# How long a pay submission may hold the order's claim before another may take it over (its process died).
CLAIM_SECONDS = 120


class PaymentInProgress(Exception):  # noqa: N818 - a state, not an error
    """Another submission is paying this order right now: show its progress, do not charge again."""


def payment_claim(*, order_id: int) -> str | None:
    """Take the order's payment claim in a short transaction of its own; None if another holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=CLAIM_SECONDS)
    # Free (given back), or left by a submission whose process died: one conditional UPDATE takes it.
    free = PaymentClaim.objects.filter(order_id=order_id).filter(Q(token="") | Q(claimed_at__lt=stale))
    if free.update(token=token, claimed_at=now):
        return token
    try:  # the order's first claim
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            PaymentClaim.objects.create(order_id=order_id, token=token, claimed_at=now)
    except IntegrityError:
        return None  # held by another submission
    return token


def payment_claim_release(*, order_id: int, token: str) -> None:
    PaymentClaim.objects.filter(order_id=order_id, token=token).update(token="")


def payment_in_progress(*, order_id: int) -> bool:
    """Whether a pay submission holds the order's claim now, or Stripe is still processing a payment."""
    fresh = timezone.now() - datetime.timedelta(seconds=CLAIM_SECONDS)
    return (
        PaymentClaim.objects.filter(order_id=order_id, claimed_at__gte=fresh).exclude(token="").exists()
        or Payment.objects.filter(order_id=order_id, status=Payment.Status.PROCESSING).exists()
    )


def payment_attempt(*, order: "Order", payment_method: str, return_url: str = "") -> Payment:
    """Pay ``order`` with a card Stripe.js made in the buyer's browser (the card number never reaches
    us), or with ``WECHAT_PAY``: create the PaymentIntent for the order's total, confirm it, and record
    what Stripe answered. A card is charged at once; WeChat Pay waits, ``requires_action``, for the buyer
    to scan the QR code Stripe drew (``wechat_pay_code``), and Stripe sends the buyer back to
    ``return_url``.

    At most one charge per order: the submission first takes the order's claim (``PaymentInProgress``
    when another holds it); under the claim a paid order answers with its payment, an attempt still open
    at Stripe is settled or cancelled before a new intent is made, and no database lock is held while
    Stripe is called."""
    if payment_method == WECHAT_PAY and not wechat_pay_offered():
        raise PaymentMethodUnavailable(payment_method)
    token = payment_claim(order_id=order.pk)
    if token is None:
        paid = Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).first()
        if paid is not None:
            return paid
        raise PaymentInProgress(order.number)
    try:
        return _payment_attempt_claimed(order=order, payment_method=payment_method, return_url=return_url)
    finally:
        payment_claim_release(order_id=order.pk, token=token)


def _payment_attempt_claimed(*, order: "Order", payment_method: str, return_url: str) -> Payment:
    attempts = list(Payment.objects.filter(order=order).order_by("-pk"))
    for attempt in attempts:
        if attempt.status == Payment.Status.SUCCEEDED:
            return attempt  # never charge an order twice
    for attempt in attempts:
        if attempt.status not in OPEN:
            continue
        if attempt.status == Payment.Status.PROCESSING or (
            payment_method == WECHAT_PAY == attempt.payment_method
            and attempt.status == Payment.Status.REQUIRES_ACTION
        ):
            # Stripe is still at it, or the buyer asks again for the QR code that waits: show that one.
            synced = payment_sync(intent_id=attempt.intent_id)
            if synced.status in (
                Payment.Status.SUCCEEDED,
                Payment.Status.PROCESSING,
                Payment.Status.REQUIRES_ACTION,
            ):
                return synced
            continue
        # Any other open intent could still be paid (a QR code scanned late): cancel it first.
        ended = payment_cancel(intent_id=attempt.intent_id)
        if ended.status == Payment.Status.SUCCEEDED:
            return ended  # paid just before: nothing new is charged
    # The n-th attempt of the order has the key order-<number>-<n>: a process that died after Stripe made
    # the intent but before we recorded it finds the same intent again.
    key = f"order-{order.number}-{len(attempts) + 1}"
    client = stripe_client()
    params = _intent_params(order, payment_method)
    try:
        intent = client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    except stripe.IdempotencyError:
        # That attempt was made with another card. Its intent was never confirmed (we confirm only what we
        # recorded), so it cannot charge anything: this attempt gets a key of its own.
        key = f"{key}-{uuid.uuid4().hex[:8]}"
        intent = client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    # Under the claim no one else records this intent; a process that died before this line left no row,
    # so the next attempt counts the same n and finds the same intent (its key) to record.
    payment = Payment.objects.create(
        intent_id=intent.id,
        order=order,
        payment_method=WECHAT_PAY if payment_method == WECHAT_PAY else "card",
        client_secret=intent.client_secret or "",  # Stripe always returns it for a secret-key create
        amount=order.total_incl_tax,
        currency=order.currency,
    )
    if intent.status != "requires_confirmation":
        return payment_record(intent=intent, order_id=order.pk)
    confirm: PaymentIntentConfirmParams | None = (
        {"return_url": return_url} if payment_method == WECHAT_PAY and return_url else None
    )
    try:
        confirmed = client.v1.payment_intents.confirm(
            intent.id, params=confirm, options={"idempotency_key": f"confirm-{intent.id}"}
        )
    except stripe.CardError as error:
        # The status follows from the intent (payment_sync below); keep Stripe's words for the buyer.
        Payment.objects.filter(pk=payment.pk).update(
            failure_message=error.user_message or str(error),
            failure_code=(getattr(error, "decline_code", None) or error.code or "card_declined")[:64],
        )
        return payment_sync(intent_id=intent.id)
    return payment_record(intent=confirmed, order_id=order.pk)


def payment_sync(*, intent_id: str) -> Payment:
    """Ask Stripe for the intent's state and bring ours in line. Safe to call any number of times,
    in any order: only Stripe's current answer counts, and paying happens once. Stripe is asked before
    any lock is taken."""
    intent = stripe_client().v1.payment_intents.retrieve(intent_id)
    return payment_record(intent=intent)


@transaction.atomic
def payment_record(*, intent: stripe.PaymentIntent, order_id: int | None = None) -> Payment:
    """Record Stripe's answer about one intent (of the order ``order_id``, looked up when not given). The
    order's row is locked first, then the payment's (the lock order of the paid-order flow): two intents
    of one order succeeding at once are recorded one after the other, and the second is a duplicate
    charge, refunded through the outbox."""
    if order_id is None:
        order_id = Payment.objects.filter(intent_id=intent.id).values_list("order_id", flat=True).get()
    order_lock(order_id=order_id)
    payments = list(for_update(Payment.objects.all()).filter(order_id=order_id).order_by("pk"))
    payment = next(p for p in payments if p.intent_id == intent.id)
    if intent.amount != to_minor(payment.amount) or intent.currency != payment.currency.lower():
        raise ValueError(f"intent {intent.id} does not match order {payment.order_id}")
    if payment.status in (Payment.Status.SUCCEEDED, Payment.Status.DUPLICATE):
        return payment
    previous = payment.status
    if intent.status == "succeeded":
        already_paid = any(p.status == Payment.Status.SUCCEEDED for p in payments if p.pk != payment.pk)
        payment.paid_at = timezone.now()
        payment.failure_message = payment.failure_code = ""
        if already_paid:
            payment.status = Payment.Status.DUPLICATE
            outbox_emit(topic=PAYMENT_DUPLICATE, key=intent.id, payload={"payment_id": payment.pk})
        else:
            payment.status = Payment.Status.SUCCEEDED
            # The one "paid" action of the order domain: shop orders to paid, and routing, notices and the
            # sales facts written to the outbox in this same transaction.
            order_paid(order_id=payment.order_id, reason="stripe")
        payment.save(update_fields=["status", "paid_at", "failure_message", "failure_code"])
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
        error = intent.last_payment_error
        payment.failure_message = getattr(error, "message", "") or payment.failure_message
        code = getattr(error, "decline_code", None) or getattr(error, "code", None)
        payment.failure_code = (code or payment.failure_code or "card_declined")[:64]
        payment.save(update_fields=["status", "failure_message", "failure_code"])
        if previous != Payment.Status.FAILED:
            outbox_emit(topic=PAYMENT_FAILED, key=intent.id, payload={"payment_id": payment.pk})
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


def payment_duplicate_refund(*, payment_id: int) -> Payment:
    """Give back a charge Stripe made on an order that was already paid: the whole intent is refunded
    (one refund whatever the retries: its idempotency key is the intent's), recorded on the payment, and
    the association is told through the outbox. Stripe is called outside any transaction."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != Payment.Status.DUPLICATE or payment.duplicate_refund_id:
        return payment
    stripe_refund = stripe_client().v1.refunds.create(
        params={"payment_intent": payment.intent_id},
        options={"idempotency_key": f"duplicate-{payment.intent_id}"},
    )
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment.pk, duplicate_refund_id="").update(
            duplicate_refund_id=stripe_refund.id
        )
        if updated:
            outbox_emit(
                topic=PAYMENT_DUPLICATE_REFUNDED,
                key=payment.intent_id,
                payload={
                    "payment_id": payment.pk,
                    "order_id": payment.order_id,
                    "amount": str(payment.amount),
                    "refund_id": stripe_refund.id,
                },
            )
    payment.refresh_from_db()
    return payment


@dataclass(frozen=True)
class WeChatPayCode:
    """The QR code a buyer scans with WeChat to pay an order, as Stripe drew it."""

    payment: Payment
    image_url: str  # a data: URL (or Stripe's PNG), for an <img>
    data: str  # the weixin:// link the code holds


def wechat_pay_code(*, order: "Order") -> WeChatPayCode | None:
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
        image_url=getattr(qr, "image_data_url", None) or getattr(qr, "image_url_png", None) or "",
        data=getattr(qr, "data", ""),
    )


def _lines_amount(shop_order: ShopOrder, lines: dict[int, int]) -> list[tuple["Line", int, Decimal]]:
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


def refund_sync(*, refund_id: int) -> Refund:
    """Bring a refund that Stripe left pending in line with Stripe's answer now (asked before any lock is
    taken). Safe to repeat: a refund that is no longer pending is returned unchanged."""
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != Refund.Status.PENDING or not refund.stripe_refund_id:
        return refund
    stripe_refund = stripe_client().v1.refunds.retrieve(refund.stripe_refund_id)
    return refund_record(refund_id=refund_id, stripe_status=stripe_refund.status)


@transaction.atomic
def refund_record(*, refund_id: int, stripe_status: str | None) -> Refund:
    """Record Stripe's status of a refund; once it succeeded, the sales facts follow (through the outbox)."""
    refund = for_update(Refund.objects.all()).get(pk=refund_id)
    status = REFUND_STATUSES.get(stripe_status or "", Refund.Status.PENDING)
    if refund.status == Refund.Status.PENDING and status != refund.status:
        refund.status = status
        refund.save(update_fields=["status"])
        if status == Refund.Status.SUCCEEDED:
            _refund_succeeded(refund)
    return refund


def refund_sync_by_stripe_id(*, stripe_refund_id: str) -> Refund | None:
    """A refund event from Stripe's webhook: the refund it is about, brought in line; None if not ours."""
    refund_id = Refund.objects.filter(stripe_refund_id=stripe_refund_id).values_list("pk", flat=True).first()
    return None if refund_id is None else refund_sync(refund_id=refund_id)


def _refund_succeeded(refund: Refund) -> None:
    """Money went back: a refund row in the sales ledger, and the sales review's facts of the refund's
    shop and day follow (outbox)."""
    ledger_refund_record(
        refund=refund,
        shop_id=ShopOrder.objects.values_list("shop_id", flat=True).get(pk=refund.shop_order_id),
    )
    outbox_emit(topic=REFUND_SUCCEEDED, key=str(refund.pk), payload={"refund_id": refund.pk})


def stripe_event_process(*, event_pk: int) -> bool:
    """Act on a recorded webhook event: bring the intent (and, for a refund of its charge, the refunds
    Stripe left pending) or the refund in line with Stripe. Idempotent; returns whether it acted."""
    event = StripeEvent.objects.get(pk=event_pk)
    if event.processed_at is not None:
        return False
    if event.object_id.startswith("pi_"):
        # The usual "succeeded" event arrives after the buyer's own request recorded the payment: a paid or
        # duplicate payment never changes again, so Stripe is not asked (a refund comes as charge.refunded).
        if not _settled_already(type=event.type, object_id=event.object_id):
            payment_sync(intent_id=event.object_id)
        if event.type == "charge.refunded":
            pending = Refund.objects.filter(
                payment__intent_id=event.object_id, status=Refund.Status.PENDING
            ).exclude(stripe_refund_id="")
            for refund_id in pending.values_list("pk", flat=True):
                refund_sync(refund_id=refund_id)
    elif event.object_id.startswith("re_"):
        refund_sync_by_stripe_id(stripe_refund_id=event.object_id)
    StripeEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(processed_at=timezone.now())
    return True


def stripe_event_record(*, event_id: str, type: str, object_id: str) -> StripeEvent | None:  # noqa: A002
    """Record a verified webhook event and its processing (an outbox row) in one transaction. None when
    Stripe sent it before (a retry): the event recorded then is returned by ``stripe_event_find``."""
    try:
        with transaction.atomic():
            if _settled_already(type=type, object_id=object_id):
                # Nothing to act on (what stripe_event_process would find): recorded as processed, no
                # follow-up. The usual case: the buyer's own request recorded the payment before Stripe's
                # "succeeded" arrived, and a paid or duplicate payment never changes again.
                return StripeEvent.objects.create(
                    event_id=event_id, type=type, object_id=object_id, processed_at=timezone.now()
                )
            recorded = StripeEvent.objects.create(event_id=event_id, type=type, object_id=object_id)
            outbox_emit(topic=STRIPE_EVENT_RECEIVED, key=event_id, payload={"event_pk": recorded.pk})
    except IntegrityError:
        return None
    return recorded


def _settled_already(*, type: str, object_id: str) -> bool:  # noqa: A002
    return (
        type == "payment_intent.succeeded"
        and Payment.objects.filter(
            intent_id=object_id, status__in=(Payment.Status.SUCCEEDED, Payment.Status.DUPLICATE)
        ).exists()
    )


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
    actor: AbstractBaseUser | None = None,
    reason: str = "",
) -> Refund:
    """Refund part of one shop order through Stripe: given ``lines`` (order line id → quantity) at the
    price paid for them, else ``amount``, else all that is left."""
    with transaction.atomic():
        shop_order = for_update(ShopOrder.objects.all()).get(pk=shop_order_id)
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
            shop_order=shop_order,
            payment=payment,
            amount=amount,
            reason=reason,
            # auth.User is the user model; services take AbstractBaseUser, django-stubs' `request.user`.
            created_by=actor,  # type: ignore[misc]
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
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(stripe_refund_id=stripe_refund.id)
        refund = refund_record(refund_id=refund.pk, stripe_status=stripe_refund.status)
        outbox_emit(topic=REFUND_CREATED, key=str(refund.pk), payload={"refund_id": refund.pk})
    return refund

"""An order is paid once: a claim serialises pay submissions, Stripe is never called inside our
transactions, a second charge Stripe made anyway is refunded and shown to the association, and webhook
events (payments and refunds) are processed through the outbox or on Stripe's retry."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from marketplace.order.models import ShopOrder, ShopOrderEvent
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver
from marketplace.payments.models import Payment, PaymentClaim, Refund, StripeEvent
from marketplace.payments.services import (
    CLAIM_SECONDS,
    PaymentInProgress,
    StripeCalledInTransaction,
    payment_attempt,
    payment_claim,
    payment_sync,
    shop_order_refund,
    stripe_client,
)
from shops.association.models import AuditEntry
from tests.factories import association_member
from tests.payments.conftest import card_from_browser, charged_behind_our_back
from tests.payments.test_stripe import post_webhook, signed

pytestmark = pytest.mark.django_db
S = ShopOrder.Status


def test_a_second_charge_of_a_paid_order_is_refunded_and_the_association_told(
    stripe_settings, localstripe, placed_order, django_capture_on_commit_callbacks
):
    member = association_member(email="assoc@example.cn")
    first = charged_behind_our_back(placed_order, localstripe)
    second = charged_behind_our_back(placed_order, localstripe)

    with django_capture_on_commit_callbacks(execute=True):
        payment_sync(intent_id=first.intent_id)
    with django_capture_on_commit_callbacks(execute=True):
        payment_sync(intent_id=second.intent_id)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Payment.Status.SUCCEEDED
    assert second.status == Payment.Status.DUPLICATE
    assert ShopOrderEvent.objects.filter(to_status=S.PAID).count() == 2  # the order paid once
    refunds = stripe_client().v1.refunds.list(params={"payment_intent": second.intent_id, "limit": 10})
    assert [(r.id, r.amount, r.status) for r in refunds.data] == [
        (second.duplicate_refund_id, int(placed_order.total_incl_tax * 100), "succeeded")
    ]
    assert not stripe_client().v1.refunds.list(params={"payment_intent": first.intent_id}).data
    entry = AuditEntry.objects.get(action="payment.duplicate_refund")
    assert entry.subject_id == str(placed_order.pk)
    assert second.intent_id in entry.reason
    assert [m.to for m in mail.outbox if "charged twice" in m.subject or "重复" in m.subject] == [
        [member.email]
    ]
    # Stripe's webhook for the second charge, or a redelivery, changes nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        payment_sync(intent_id=second.intent_id)
    assert len(stripe_client().v1.refunds.list(params={"payment_intent": second.intent_id}).data) == 1


def test_a_claimed_order_is_not_charged_by_another_submission(stripe_settings, localstripe, placed_order):
    held = payment_claim(order_id=placed_order.pk)
    assert held is not None

    with pytest.raises(PaymentInProgress):
        payment_attempt(order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242"))

    assert not Payment.objects.exists()  # Stripe was not even asked


def test_a_claim_left_by_a_dead_process_is_taken_over(stripe_settings, localstripe, placed_order):
    assert payment_claim(order_id=placed_order.pk) is not None
    PaymentClaim.objects.update(claimed_at=timezone.now() - datetime.timedelta(seconds=CLAIM_SECONDS + 1))

    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )

    assert payment.status == Payment.Status.SUCCEEDED
    assert PaymentClaim.objects.get().token == ""  # given back


def test_a_new_card_after_a_declined_one_cancels_the_open_intent_first(
    stripe_settings, localstripe, placed_order
):
    declined = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4000000000000341")
    )
    paid = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )

    declined.refresh_from_db()
    assert paid.status == Payment.Status.SUCCEEDED
    assert declined.status == Payment.Status.CANCELED
    assert stripe_client().v1.payment_intents.retrieve(declined.intent_id).status == "canceled"


def test_stripe_is_never_called_inside_our_transactions(stripe_settings, localstripe, placed_order):
    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )

    with pytest.raises(StripeCalledInTransaction), transaction.atomic():
        payment_sync(intent_id=payment.intent_id)


def succeeded_event(event_id: str, payment, stripe_settings) -> tuple[bytes, str]:
    """Stripe's "payment_intent.succeeded" for ``payment``, signed as Stripe signs it."""
    return signed(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": payment.intent_id, "object": "payment_intent"}},
        },
        stripe_settings.STRIPE_WEBHOOK_SECRET,
    )


def test_an_event_not_yet_processed_is_processed_on_stripes_retry(
    client, stripe_settings, localstripe, placed_order
):
    payment = charged_behind_our_back(placed_order, localstripe)
    body, signature = succeeded_event("evt_retry", payment, stripe_settings)

    # Recorded with its outbox row, but no worker ran it (the broker was down).
    assert post_webhook(client, body, signature).content == b"ok"
    event = StripeEvent.objects.get()
    assert event.processed_at is None
    assert OutboxMessage.objects.filter(topic="stripe.event", key="evt_retry", done_at__isnull=True).exists()
    assert set(placed_order.shop_orders.values_list("status", flat=True)) == {S.PENDING_PAYMENT}

    assert post_webhook(client, body, signature).content == b"processed on retry"

    event.refresh_from_db()
    assert event.processed_at is not None
    assert set(placed_order.shop_orders.values_list("status", flat=True)) == {S.PAID}
    # The outbox row, delivered later, finds the event processed and does nothing more.
    row = OutboxMessage.objects.get(topic="stripe.event", key="evt_retry")
    assert outbox_deliver(message_id=row.pk) is True
    assert ShopOrderEvent.objects.filter(to_status=S.PAID).count() == 2
    assert post_webhook(client, body, signature).content == b"duplicate"


@pytest.mark.parametrize("kind", ["refund.updated", "charge.refunded"])
def test_a_refund_event_settles_a_pending_refund_without_waiting_for_the_hourly_job(
    client, stripe_settings, localstripe, placed_order, django_capture_on_commit_callbacks, kind
):
    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )
    tea_part = placed_order.shop_orders.get(shop__name="龙谷茶舍")
    refund = shop_order_refund(shop_order_id=tea_part.pk, amount=Decimal("98.00"), reason="一盒破损")
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.PENDING)  # as Stripe first answers
    subject = (
        {"id": refund.stripe_refund_id, "object": "refund"}
        if kind == "refund.updated"
        else {"id": "ch_1", "object": "charge", "payment_intent": payment.intent_id}
    )
    body, signature = signed(
        {"id": f"evt_{kind}", "object": "event", "type": kind, "data": {"object": subject}},
        stripe_settings.STRIPE_WEBHOOK_SECRET,
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, body, signature).content == b"ok"

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert StripeEvent.objects.get().processed_at is not None
    assert OutboxMessage.objects.get(topic="stripe.event").done_at is not None


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("payment_intent.succeeded", {}),
        ("payment_intent.succeeded", {"id": 5}),
        ("charge.refunded", {"id": "ch_1"}),
        ("refund.updated", {"id": "re_not_ours"}),
    ],
)
def test_a_signed_event_about_nothing_of_ours_is_answered_and_changes_nothing(
    client, stripe_settings, kind, subject
):
    body, signature = signed(
        {"id": "evt_odd", "object": "event", "type": kind, "data": {"object": subject}},
        stripe_settings.STRIPE_WEBHOOK_SECRET,
    )

    response = post_webhook(client, body, signature)

    assert (response.status_code, response.content) == (200, b"unknown object")
    assert not StripeEvent.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_succeeded_event_for_a_payment_already_recorded_leaves_no_follow_up(
    client, stripe_settings, localstripe, placed_order
):
    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )
    assert payment.status == Payment.Status.SUCCEEDED  # the buyer's own request recorded it
    body, signature = succeeded_event("evt_after_the_buyer", payment, stripe_settings)
    assert post_webhook(client, body, signature).content == b"ok"
    assert StripeEvent.objects.get(event_id="evt_after_the_buyer").processed_at is not None
    assert not OutboxMessage.objects.filter(topic="stripe.event").exists()  # nothing for a worker to do
    assert post_webhook(client, body, signature).content == b"duplicate"
    assert ShopOrderEvent.objects.filter(to_status=S.PAID).count() == 2  # paid once

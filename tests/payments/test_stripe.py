"""Payments against a real localstripe: the order is paid only when Stripe says so, once."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from marketplace.order.models import ShopOrder, ShopOrderEvent
from marketplace.payments.models import Payment, Refund, StripeEvent
from marketplace.payments.services import (
    RefundError,
    payment_attempt,
    payment_sync,
    shop_order_refund,
    stripe_client,
)
from tests.payments.conftest import card_from_browser, charged_behind_our_back

pytestmark = pytest.mark.django_db
S = ShopOrder.Status


def test_the_intent_is_for_the_order_total_in_fen_and_a_replay_reuses_it(
    stripe_settings, localstripe, placed_order
):
    card = card_from_browser(localstripe, "4242424242424242")
    payment = payment_attempt(order=placed_order, payment_method=card)
    assert payment_attempt(order=placed_order, payment_method=card) == payment  # double click / replayed POST
    assert Payment.objects.filter(order=placed_order).count() == 1
    intent = stripe_client().v1.payment_intents.retrieve(payment.intent_id)
    assert intent.amount == int(placed_order.total_incl_tax * 100)
    assert intent.currency == "cny"
    assert intent.metadata["order_number"] == str(placed_order.number)


def test_a_good_card_pays_every_shop_order_once(stripe_settings, localstripe, placed_order):
    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )
    payment_sync(intent_id=payment.intent_id)  # the webhook after the buyer's return: still once

    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert set(placed_order.shop_orders.values_list("status", flat=True)) == {S.PAID}
    assert ShopOrderEvent.objects.filter(to_status=S.PAID).count() == 2


def test_a_declined_card_leaves_the_order_unpaid_with_the_reason(stripe_settings, localstripe, placed_order):
    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4000000000000341")
    )

    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert "declined" in payment.failure_message  # Stripe's words, kept for the staff
    assert payment.failure_code == "card_declined"
    with translation.override("zh-hans"):
        assert payment.failure_text == "您的银行卡被拒绝。请换一张卡，或向发卡银行询问原因。"
    with translation.override("en"):
        assert payment.failure_text.startswith("Your card was declined.")
    assert set(placed_order.shop_orders.values_list("status", flat=True)) == {S.PENDING_PAYMENT}


def signed(payload: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    timestamp = timestamp or int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={signature}"


def event_for(intent_id: str, event_id: str = "evt_1", kind: str = "payment_intent.succeeded") -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }


def post_webhook(client, body: bytes, signature: str):
    return client.post(
        reverse("payments:stripe-webhook"),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def test_a_bad_signature_is_refused_and_changes_nothing(client, stripe_settings, placed_order):
    payment = payment_attempt(
        order=placed_order,
        payment_method=card_from_browser(stripe_settings.STRIPE_API_BASE, "4000000000000341"),
    )
    body, signature = signed(event_for(payment.intent_id), "whsec_someone_else")
    assert post_webhook(client, body, signature).status_code == 400
    assert post_webhook(client, body, "").status_code == 400
    assert not StripeEvent.objects.exists()


def test_the_same_event_ten_times_has_one_effect(
    client, stripe_settings, localstripe, placed_order, django_capture_on_commit_callbacks
):
    # The intent succeeds at Stripe; the webhook, not the buyer's return, is what tells us.
    payment = charged_behind_our_back(placed_order, localstripe)
    body, signature = signed(event_for(payment.intent_id), stripe_settings.STRIPE_WEBHOOK_SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        answers = [post_webhook(client, body, signature).status_code for _ in range(10)]

    assert answers == [200] * 10
    assert StripeEvent.objects.count() == 1
    assert ShopOrderEvent.objects.filter(to_status=S.PAID).count() == 2
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_the_succeeded_event_of_a_payment_already_recorded_asks_stripe_nothing(
    client, stripe_settings, localstripe, placed_order, django_capture_on_commit_callbacks, monkeypatch
):
    """The buyer's own request recorded the payment; the webhook that follows has nothing to bring in
    line, so it costs no call to Stripe (one per checkout in the checkout benchmark)."""
    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )
    assert payment.status == Payment.Status.SUCCEEDED

    def no_stripe():
        raise AssertionError("Stripe was asked")

    monkeypatch.setattr("marketplace.payments.services.stripe_client", no_stripe)
    body, signature = signed(event_for(payment.intent_id), stripe_settings.STRIPE_WEBHOOK_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, body, signature).status_code == 200
    event = StripeEvent.objects.get()
    assert event.processed_at is not None
    assert ShopOrderEvent.objects.filter(to_status=S.PAID).count() == 2  # still paid once


def test_a_succeeded_event_for_an_unpaid_intent_does_not_pay(
    client, stripe_settings, placed_order, django_capture_on_commit_callbacks
):
    """Events are hints: the state is always read back from Stripe, so a forged-but-signed or
    out-of-order 'succeeded' for an intent Stripe has not charged pays nothing."""
    payment = payment_attempt(
        order=placed_order,
        payment_method=card_from_browser(stripe_settings.STRIPE_API_BASE, "4000000000000341"),
    )
    body, signature = signed(event_for(payment.intent_id), stripe_settings.STRIPE_WEBHOOK_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, body, signature).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert set(placed_order.shop_orders.values_list("status", flat=True)) == {S.PENDING_PAYMENT}


def test_refunds_are_per_shop_order_and_never_exceed_it(stripe_settings, localstripe, placed_order):
    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )
    tea_part = placed_order.shop_orders.get(shop__name="龙谷茶舍")

    partial = shop_order_refund(shop_order_id=tea_part.pk, amount=Decimal("98.00"), reason="一盒破损")
    rest = shop_order_refund(shop_order_id=tea_part.pk, reason="取消")

    assert partial.status == Refund.Status.SUCCEEDED
    assert partial.stripe_refund_id
    assert partial.amount + rest.amount == tea_part.total
    with pytest.raises(RefundError):
        shop_order_refund(shop_order_id=tea_part.pk, amount=Decimal("0.01"))
    charged = stripe_client().v1.payment_intents.retrieve(payment.intent_id)
    assert charged.amount == int(placed_order.total_incl_tax * 100)


def test_an_unpaid_order_cannot_be_refunded(stripe_settings, placed_order):
    payment_attempt(
        order=placed_order,
        payment_method=card_from_browser(stripe_settings.STRIPE_API_BASE, "4000000000000341"),
    )
    with pytest.raises(RefundError):
        shop_order_refund(shop_order_id=placed_order.shop_orders.first().pk)


def test_a_partial_refund_per_line_pays_back_what_those_boxes_cost(
    stripe_settings, localstripe, placed_order
):
    payment_attempt(order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242"))
    tea_part = placed_order.shop_orders.get(shop__name="龙谷茶舍")
    [tea_line] = list(tea_part.lines())  # 2 boxes at ¥98.00

    refund = shop_order_refund(shop_order_id=tea_part.pk, lines={tea_line.pk: 1}, reason="一盒破损")

    assert refund.amount == Decimal("98.00")
    assert [(rl.line, rl.quantity) for rl in refund.lines.all()] == [(tea_line, 1)]
    shop_order_refund(shop_order_id=tea_part.pk, lines={tea_line.pk: 1})
    with pytest.raises(RefundError):  # both boxes refunded already
        shop_order_refund(shop_order_id=tea_part.pk, lines={tea_line.pk: 1})


def test_a_line_of_another_shop_cannot_be_refunded_here(stripe_settings, localstripe, placed_order):
    payment_attempt(order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242"))
    tea_part = placed_order.shop_orders.get(shop__name="龙谷茶舍")
    peach_part = placed_order.shop_orders.get(shop__name="桃源果园")
    [peach_line] = list(peach_part.lines())
    with pytest.raises(RefundError):
        shop_order_refund(shop_order_id=tea_part.pk, lines={peach_line.pk: 1})
    assert not Refund.objects.exists()


def test_a_refund_stripe_left_pending_counts_once_stripe_says_it_succeeded(
    stripe_settings, localstripe, placed_order, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from marketplace.payments.tasks import refunds_pending_sync_task
    from shops.sales.models import SalesDay

    payment_attempt(order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242"))
    tea_part = placed_order.shop_orders.get(shop__name="龙谷茶舍")
    refund = shop_order_refund(shop_order_id=tea_part.pk, amount=Decimal("98.00"), reason="一盒破损")
    # As Stripe answers for a refund that takes days (its status "pending" when it was made).
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.PENDING)

    with django_capture_on_commit_callbacks(execute=True):
        assert refunds_pending_sync_task() == 1

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    day = SalesDay.objects.get(shop=tea_part.shop, day=timezone.localdate(refund.created_at))
    assert day.refunds == Decimal("98.00")
    with django_capture_on_commit_callbacks(execute=True):
        assert refunds_pending_sync_task() == 0  # nothing pending any more

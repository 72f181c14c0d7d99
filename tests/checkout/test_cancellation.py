"""Cancelling a shop order gives back its stock and refunds exactly its part; unpaid orders are
released after the hold time."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.ledger.models import SaleEntry
from marketplace.order.cancellation import orders_unpaid_release, shop_order_cancel
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import ShopOrderTransitionError
from marketplace.payments.models import Payment, Refund
from marketplace.payments.services import stripe_client
from tests.checkout.conftest import ADDRESS
from tests.payments.conftest import card_from_browser

Order = get_model("order", "Order")
StockRecord = get_model("partner", "StockRecord")
S = ShopOrder.Status

pytestmark = pytest.mark.django_db


def checkout(client, localstripe, card: str):
    client.post(
        reverse("checkout:index"), {**ADDRESS, "payment_method": card_from_browser(localstripe, card)}
    )
    return Order.objects.get()


def allocated(product) -> int:
    return StockRecord.objects.get(product=product).num_allocated or 0


def test_a_shop_cancelling_its_paid_part_refunds_exactly_that_part(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    peaches, tea = basket_from_two_shops
    order = checkout(client, localstripe, "4242424242424242")
    tea_part = order.shop_orders.get(shop=tea.shop)

    shop_order_cancel(shop_order_id=tea_part.pk, reason="茶叶受潮，无法发货")

    tea_part.refresh_from_db()
    assert tea_part.status == S.REFUNDED
    [refund] = Refund.objects.all()
    assert (refund.amount, refund.status) == (tea_part.total, Refund.Status.SUCCEEDED)
    assert allocated(tea) == 0
    assert allocated(peaches) == 1
    assert order.shop_orders.get(shop=peaches.shop).status == S.PAID
    # The sales ledger: each part's sale when the order was paid, and the tea's refund once it succeeded.
    entries = {(e.kind, e.shop_order_id): e.amount for e in SaleEntry.objects.all()}
    peach_part = order.shop_orders.get(shop=peaches.shop)
    assert entries == {
        ("sale", peach_part.pk): peach_part.total,
        ("sale", tea_part.pk): tea_part.total,
        ("refund", tea_part.pk): -tea_part.total,
    }
    assert SaleEntry.objects.get(kind="refund").refund == refund


def test_cancelling_needs_a_reason_and_changes_nothing_without_one(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    _peaches, tea = basket_from_two_shops
    order = checkout(client, localstripe, "4242424242424242")
    tea_part = order.shop_orders.get(shop=tea.shop)
    with pytest.raises(ShopOrderTransitionError):
        shop_order_cancel(shop_order_id=tea_part.pk, reason="")
    tea_part.refresh_from_db()
    assert tea_part.status == S.PAID
    assert allocated(tea) == 2
    assert not Refund.objects.exists()


def test_unpaid_orders_are_released_after_the_hold_time_once(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    peaches, tea = basket_from_two_shops
    order = checkout(client, localstripe, "4000000000000341")
    assert orders_unpaid_release(older_than=timedelta(minutes=30)) == 0  # still within the hold

    ShopOrder.objects.filter(order=order).update(created_at=timezone.now() - timedelta(hours=1))
    assert orders_unpaid_release(older_than=timedelta(minutes=30)) == 2
    assert orders_unpaid_release(older_than=timedelta(minutes=30)) == 0

    assert set(order.shop_orders.values_list("status", flat=True)) == {S.CANCELLED}
    assert (allocated(peaches), allocated(tea)) == (0, 0)
    assert not Refund.objects.exists()


def test_an_order_paid_at_stripe_but_not_yet_recorded_is_not_released(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    order = checkout(client, localstripe, "4000000000000341")
    # The buyer paid on another attempt whose answer we never recorded (closed tab, lost webhook).
    intent = stripe_client().v1.payment_intents.create(
        params={
            "amount": int(order.total_incl_tax * 100),
            "currency": "cny",
            "payment_method": card_from_browser(localstripe, "4242424242424242"),
        }
    )
    stripe_client().v1.payment_intents.confirm(intent.id)
    Payment.objects.create(
        order=order,
        intent_id=intent.id,
        client_secret=intent.client_secret,
        amount=order.total_incl_tax,
        currency="CNY",
        payment_method="card_lost",
    )
    ShopOrder.objects.filter(order=order).update(created_at=timezone.now() - timedelta(hours=1))

    assert orders_unpaid_release(older_than=timedelta(minutes=30)) == 0
    assert set(order.shop_orders.values_list("status", flat=True)) == {S.PAID}
    assert order.total_incl_tax == Decimal(intent.amount) / 100

"""WeChat Pay against a real localstripe (taught WeChat Pay by devtools/localstripe_server.py): the intent
waits for the buyer's scan with a QR code; the order is paid only when Stripe says so."""

import pytest

from marketplace.order.models import ShopOrder
from marketplace.payments.models import Payment
from marketplace.payments.services import (
    WECHAT_PAY,
    PaymentMethodUnavailable,
    payment_attempt,
    payment_cancel,
    payment_sync,
    stripe_client,
    wechat_pay_code,
)
from tests.payments.conftest import card_from_browser, wechat_scan

pytestmark = pytest.mark.django_db
S = ShopOrder.Status
RETURN_URL = "https://market.example.cn/checkout/orders/1/pay/"


def test_wechat_pay_waits_for_the_scan_with_a_qr_code(wechat_pay_on, localstripe, placed_order):
    payment = payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL)

    assert payment.status == Payment.Status.REQUIRES_ACTION
    intent = stripe_client().v1.payment_intents.retrieve(payment.intent_id)
    assert intent.payment_method_types == ["wechat_pay"]
    assert intent.payment_method_options.wechat_pay.client == "web"
    assert intent.return_url == RETURN_URL
    assert intent.amount == int(placed_order.total_incl_tax * 100)
    code = wechat_pay_code(order=placed_order)
    assert code.payment == payment
    assert code.image_url.startswith("data:image/png;base64,")
    assert code.data.startswith("weixin://")
    assert set(placed_order.shop_orders.values_list("status", flat=True)) == {S.PENDING_PAYMENT}
    # Choosing WeChat Pay again (a double click, a reload) shows the same code, not a second intent.
    assert payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL) == payment
    assert Payment.objects.filter(order=placed_order).count() == 1


def test_the_scan_pays_every_shop_order_once(wechat_pay_on, localstripe, placed_order):
    payment = payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL)

    wechat_scan(localstripe, payment.intent_id)

    assert wechat_pay_code(order=placed_order) is None  # the code is gone: Stripe was paid, we recorded it
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert set(placed_order.shop_orders.values_list("status", flat=True)) == {S.PAID}
    payment_sync(intent_id=payment.intent_id)  # the webhook after the page noticed: still once
    assert placed_order.shop_orders.get(shop__name="桃源果园").events.filter(to_status=S.PAID).count() == 1


def test_wechat_pay_switched_off_is_refused_and_asks_stripe_nothing(stripe_settings, placed_order):
    stripe_settings.STRIPE_WECHAT_PAY = False
    with pytest.raises(PaymentMethodUnavailable):
        payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL)
    assert not Payment.objects.exists()


def test_a_card_after_an_unscanned_code_cancels_the_code_first(wechat_pay_on, localstripe, placed_order):
    waiting = payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL)

    paid = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )

    assert paid.status == Payment.Status.SUCCEEDED
    waiting.refresh_from_db()
    assert waiting.status == Payment.Status.CANCELED  # the code can no longer charge the buyer twice
    assert stripe_client().v1.payment_intents.retrieve(waiting.intent_id).status == "canceled"


def test_a_code_scanned_just_before_the_card_leaves_the_card_uncharged(
    wechat_pay_on, localstripe, placed_order
):
    waiting = payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL)
    wechat_scan(localstripe, waiting.intent_id)  # paid at Stripe; our record does not know yet

    payment = payment_attempt(
        order=placed_order, payment_method=card_from_browser(localstripe, "4242424242424242")
    )

    assert payment == waiting
    assert payment.status == Payment.Status.SUCCEEDED
    assert Payment.objects.filter(order=placed_order).count() == 1  # no card intent at all


def test_after_a_cancelled_code_choosing_wechat_pay_again_makes_a_new_one(
    wechat_pay_on, localstripe, placed_order
):
    first = payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL)
    assert payment_cancel(intent_id=first.intent_id).status == Payment.Status.CANCELED

    second = payment_attempt(order=placed_order, payment_method=WECHAT_PAY, return_url=RETURN_URL)

    assert second != first
    assert second.status == Payment.Status.REQUIRES_ACTION
    assert wechat_pay_code(order=placed_order).payment == second

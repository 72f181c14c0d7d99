"""WeChat Pay at the checkout, end to end with the Django client and a real localstripe (taught WeChat Pay
by devtools/localstripe_server.py): offered only when switched on; choosing it shows the QR code on the
order's pay page; the scan pays the order, whether the page's check or the webhook hears of it first."""

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder
from marketplace.payments.models import Payment
from marketplace.payments.services import stripe_client
from tests.checkout.conftest import ADDRESS
from tests.payments.conftest import card_from_browser, wechat_scan
from tests.payments.test_stripe import event_for, post_webhook, signed

Order = get_model("order", "Order")
StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.django_db
S = ShopOrder.Status


def urls(order) -> dict[str, str]:
    number = {"number": order.number}
    return {
        "pay": reverse("checkout:pay", kwargs=number),
        "status": reverse("checkout:pay-status", kwargs=number),
        "thank_you": reverse("checkout:thank-you", kwargs=number),
    }


def test_switched_on_the_checkout_offers_bank_card_or_wechat_pay(
    client, wechat_pay_on, basket_from_two_shops
):
    html = client.get(reverse("checkout:index")).content.decode()
    assert 'data-testid="pay-with"' in html
    assert 'data-testid="pay-with-card"' in html
    assert 'data-testid="pay-with-wechat_pay"' in html
    card_option = html.split('data-testid="pay-with-card"')[1].split("</label>")[0]
    assert "checked" in card_option  # the card is the default
    assert 'data-testid="card-element"' in html  # the card stays there for those who choose it


def test_choosing_wechat_pay_shows_the_qr_code_and_the_scan_pays_the_order(
    client, wechat_pay_on, localstripe, basket_from_two_shops
):
    peaches, tea = basket_from_two_shops

    response = client.post(reverse("checkout:index"), {**ADDRESS, "pay_with": "wechat_pay"})

    order = Order.objects.get()
    url = urls(order)
    assert response.status_code == 302
    assert response.url == url["pay"]
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.REQUIRES_ACTION
    assert stripe_client().v1.payment_intents.retrieve(payment.intent_id).return_url == (
        f"http://testserver{url['pay']}"
    )
    assert StockRecord.objects.get(product=tea).num_allocated == 2  # held while the buyer scans
    html = client.get(url["pay"]).content.decode()
    assert 'data-testid="wechat-pay-qr"' in html
    assert 'src="data:image/png;base64,' in html
    assert f'data-wechat-pay-status="{url["status"]}"' in html
    assert client.get(url["status"]).json() == {"paid": False, "waiting": True, "next": url["pay"]}

    wechat_scan(localstripe, payment.intent_id)

    assert client.get(url["status"]).json() == {"paid": True, "waiting": False, "next": url["thank_you"]}
    assert set(order.shop_orders.values_list("status", flat=True)) == {S.PAID}
    assert client.get(url["pay"]).url == url["thank_you"]
    assert client.get(url["thank_you"]).context["paid"]


def test_the_webhook_alone_marks_a_scanned_order_paid(
    client, wechat_pay_on, localstripe, basket_from_two_shops, django_capture_on_commit_callbacks
):
    client.post(reverse("checkout:index"), {**ADDRESS, "pay_with": "wechat_pay"})
    order = Order.objects.get()
    payment = Payment.objects.get(order=order)
    wechat_scan(localstripe, payment.intent_id)  # the buyer's page is closed: nobody polls

    body, signature = signed(event_for(payment.intent_id), wechat_pay_on.STRIPE_WEBHOOK_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, body, signature).status_code == 200

    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert set(order.shop_orders.values_list("status", flat=True)) == {S.PAID}
    assert client.get(urls(order)["pay"]).url == urls(order)["thank_you"]


def test_the_pay_page_offers_a_card_instead_of_a_waiting_code(
    client, wechat_pay_on, localstripe, basket_from_two_shops
):
    client.post(reverse("checkout:index"), {**ADDRESS, "pay_with": "wechat_pay"})
    order = Order.objects.get()
    waiting = Payment.objects.get(order=order)
    html = client.get(urls(order)["pay"]).content.decode()
    assert 'data-testid="wechat-pay-qr"' in html
    assert 'data-testid="card-element"' in html

    response = client.post(
        urls(order)["pay"],
        {"pay_with": "card", "payment_method": card_from_browser(localstripe, "4242424242424242")},
    )

    assert response.url == urls(order)["thank_you"]
    waiting.refresh_from_db()
    assert waiting.status == Payment.Status.CANCELED
    assert Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).count() == 1


def test_switched_off_no_choice_is_shown_and_the_pay_page_refuses_wechat_pay(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    stripe_settings.STRIPE_WECHAT_PAY = False
    html = client.get(reverse("checkout:index")).content.decode()
    assert 'data-testid="pay-with"' not in html
    assert "wechat" not in html.lower()
    client.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(localstripe, "4000000000000341")},
    )
    order = Order.objects.get()
    assert "wechat" not in client.get(urls(order)["pay"]).content.decode().lower()

    response = client.post(urls(order)["pay"], {"pay_with": "wechat_pay"}, follow=True)

    assert response.request["PATH_INFO"] == urls(order)["pay"]
    assert 'data-testid="pay-with"' not in response.content.decode()
    messages = [str(m) for m in response.context["messages"]]
    assert any("WeChat Pay" in m or "微信支付" in m for m in messages), messages
    assert Payment.objects.filter(order=order).count() == 1  # only the declined card: Stripe was not asked

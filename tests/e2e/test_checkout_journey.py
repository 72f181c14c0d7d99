"""A buyer fills one basket from two shops and pays with a card in (localstripe's) Stripe.js; and pays
with WeChat Pay by scanning a QR code."""

import time

import pytest
import requests
from oscar.core.loading import get_model
from playwright.sync_api import expect

from marketplace.order.models import ShopOrder
from marketplace.payments.models import Payment, StripeEvent
from tests.e2e.conftest import Visit
from tests.payments.conftest import localstripe, wechat_scan  # noqa: F401  (the fake Stripe server fixture)

Order = get_model("order", "Order")
Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop_with_stripe(demo_server, localstripe, settings):  # noqa: F811
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_e2e"
    # localstripe delivers signed events to our webhook, as Stripe would.
    requests.post(
        f"{localstripe}/_config/webhooks/e2e",
        data={"url": f"{demo_server}/payments/stripe/webhook/", "secret": "whsec_e2e"},
        timeout=10,
    ).raise_for_status()
    return demo_server


def add_to_basket(visit: Visit, base: str, product) -> None:
    assert visit.page.goto(f"{base}{product.get_absolute_url()}").status == 200
    with visit.page.expect_navigation():
        visit.page.locator("#add_to_basket_form button[type=submit]").click()


def tea_at_checkout(visit: Visit, base: str):
    """Suichang tea in the basket and the checkout page open: the tea."""
    tea = Product.objects.storefront().filter(title__contains="茶").first()
    add_to_basket(visit, base, tea)
    assert visit.page.goto(f"{base}/checkout/").status == 200
    return tea


def fill_address(visit: Visit) -> None:
    for field, value in {
        "email": "buyer@example.cn",
        "recipient": "王小明",
        "phone": "13800138000",
        "province": "上海市",
        "city": "上海市",
        "county": "浦东新区",
        "street": "世纪大道 100 号",
    }.items():
        visit.page.fill(f"#id_{field}", value)


def fill_checkout(visit: Visit, card_number: str) -> None:
    page = visit.page
    fill_address(visit)
    card = {"number": card_number, "exp_month": "12", "exp_year": "30", "cvc": "123", "postal_code": "200000"}
    inputs = page.locator("#card-element input")
    inputs.first.wait_for()
    for index in range(inputs.count()):
        field = inputs.nth(index).get_attribute("placeholder")
        if field == "number":
            # Key by key, as a person types it (the field moves on by itself when the number is whole).
            inputs.nth(index).press_sequentially(card_number)
        else:
            inputs.nth(index).fill(card.get(field, ""))


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_one_basket_two_shops_one_card_two_shop_orders(shop_with_stripe, open_visit, viewport):
    base = shop_with_stripe
    visit = open_visit(viewport, f"checkout-{viewport}")
    peaches = Product.objects.storefront().filter(shop__town__name="阳山镇", perishable=True).first()
    tea = Product.objects.storefront().filter(shop__county__name="遂昌县", title__contains="茶").first()
    add_to_basket(visit, base, peaches)
    add_to_basket(visit, base, tea)

    assert visit.page.goto(f"{base}/checkout/").status == 200
    assert visit.page.locator("[data-testid=shop-group]").count() == 2
    fill_checkout(visit, "4242 4242 4242 4242")  # as the README gives it
    visit.screenshot("checkout")
    with visit.page.expect_navigation(timeout=30_000):
        visit.page.locator("[data-testid=place-order]").click()
    visit.screenshot("thank-you")
    visit.assert_no_server_error()
    if viewport == "phone":
        visit.assert_no_horizontal_scroll()

    assert "/thank-you/" in visit.page.url
    assert visit.page.locator("[data-testid=shop-order]").count() == 2
    assert visit.page.locator("[data-testid=shop-order-shipping]").count() == 2
    order = Order.objects.get()
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.PAID}
    assert {so.shop for so in order.shop_orders.all()} == {peaches.shop, tea.shop}

    # The webhook arrived, its signature checked, and it changed nothing more.
    deadline = time.monotonic() + 15
    while (
        not StripeEvent.objects.filter(type="payment_intent.succeeded").exists()
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert StripeEvent.objects.filter(type="payment_intent.succeeded").count() == 1
    assert (
        order.shop_orders.get(shop=peaches.shop).events.filter(to_status=ShopOrder.Status.PAID).count() == 1
    )

    # Shop A's farmer, in the shop console, sees shop A's part only: the peaches, not the other shop's tea.
    farmer = open_visit(viewport, f"checkout-{viewport}-farmer")
    farmer.page.goto(f"{base}/accounts/login/?next=/shop/orders/")
    farmer.page.fill("input[name=login-username]", peaches.shop.users.first().email)
    farmer.page.fill("input[name=login-password]", "demo-farmer-2026")
    with farmer.page.expect_navigation():
        farmer.page.locator("button[name=login_submit]").click()
    shop_order = farmer.page.locator("[data-testid=shop-order]")
    assert shop_order.count() == 1
    assert shop_order.get_attribute("data-number") == order.shop_orders.get(shop=peaches.shop).number
    assert peaches.title in shop_order.inner_text()
    assert tea.title not in farmer.page.content()
    farmer.screenshot("farmer-sees-own-part")
    farmer.assert_no_server_error()


def test_pressing_pay_with_no_card_says_so_and_the_button_still_works(shop_with_stripe, open_visit):
    """Found walking the checkout: with the card left empty the button went dead until a reload."""
    base = shop_with_stripe
    visit = open_visit("phone", "checkout-no-card")
    tea_at_checkout(visit, base)
    fill_address(visit)
    visit.page.locator("#card-element input").first.wait_for()
    visit.page.locator("[data-testid=place-order]").click()
    expect(visit.page.locator("#card-errors")).not_to_be_empty()
    visit.screenshot("no-card")
    assert "/checkout/" in visit.page.url
    assert not Order.objects.exists()

    fill_checkout(visit, "4242 4242 4242 4242")
    with visit.page.expect_navigation(timeout=30_000):
        visit.page.locator("[data-testid=place-order]").click()
    visit.assert_no_server_error()
    assert "/thank-you/" in visit.page.url
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED


def test_a_declined_card_leaves_an_unpaid_order_and_says_so(shop_with_stripe, open_visit):
    base = shop_with_stripe
    visit = open_visit("phone", "checkout-declined")
    tea = tea_at_checkout(visit, base)
    fill_checkout(visit, "4000000000000341")
    with visit.page.expect_navigation(timeout=30_000):
        visit.page.locator("[data-testid=place-order]").click()
    visit.screenshot("declined")
    visit.assert_no_server_error()

    assert "/pay/" in visit.page.url
    assert "您的银行卡被拒绝" in visit.page.content()  # in the buyer's language, not Stripe's English
    order = Order.objects.get()
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.PENDING_PAYMENT}
    assert not Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).exists()
    assert (StockRecord.objects.get(product=tea).num_allocated or 0) == 0  # the stock is untouched


def test_wechat_pay_shows_a_qr_code_and_the_page_moves_on_once_scanned(
    shop_with_stripe, open_visit, settings
):
    settings.STRIPE_WECHAT_PAY = True
    base = shop_with_stripe
    visit = open_visit("phone", "checkout-wechat")
    page = visit.page
    add_to_basket(visit, base, Product.objects.storefront().filter(title__contains="茶").first())
    assert page.goto(f"{base}/checkout/").status == 200
    fill_address(visit)

    # The card field gives way to a note when the buyer chooses WeChat Pay.
    page.locator("[data-testid=pay-with-wechat_pay]").click()
    expect(page.locator("[data-testid=card-element]")).to_be_hidden()
    expect(page.locator("[data-testid=wechat-pay-note]")).to_be_visible()
    visit.screenshot("choose-wechat")
    with page.expect_navigation(timeout=30_000):
        page.locator("[data-testid=place-order]").click()

    expect(page.locator("[data-testid=wechat-pay-qr]")).to_be_visible()
    visit.screenshot("qr-code")
    visit.assert_no_server_error()
    visit.assert_no_horizontal_scroll()
    order = Order.objects.get()
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.REQUIRES_ACTION

    # The buyer scans with WeChat (localstripe's dev route); the page notices by itself.
    with page.expect_navigation(url="**/thank-you/", timeout=20_000):
        wechat_scan(settings.STRIPE_API_BASE, payment.intent_id)
    visit.screenshot("paid")
    visit.assert_no_server_error()
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.PAID}

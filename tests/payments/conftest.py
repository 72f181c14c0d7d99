import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from devtools.stack import free_port, localstripe_argv
from marketplace.order.shop_orders import shop_orders_create
from marketplace.payments.models import Payment
from marketplace.payments.services import stripe_client
from tests.factories import ProductFactory, ShopFactory

Basket = get_model("basket", "Basket")


def localstripe_start(data: Path, *, from_scratch: bool = False) -> tuple[subprocess.Popen, str]:
    """A real localstripe (the fake Stripe server) in its own process, on loopback, keeping its store in
    ``data``: the process and its base URL, once it answers."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        localstripe_argv(port, data, from_scratch=from_scratch),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{base}/v1/payment_intents", auth=("sk_test_x", ""), timeout=1)
            return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("localstripe did not start")


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """A real localstripe with its own data, for the session."""
    process, base = localstripe_start(
        tmp_path_factory.mktemp("localstripe") / "store.pickle", from_scratch=True
    )
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def stripe_settings(settings, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_marketplace"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_marketplace"
    return settings


@pytest.fixture
def placed_order(db):
    """A buyer's order of peaches from one shop and tea from another, split into two shop orders."""
    peaches = ProductFactory(shop=ShopFactory(name="桃源果园"), stock=(Decimal("168.00"), 10))
    tea = ProductFactory(title="龙谷丽人茶", shop=ShopFactory(name="龙谷茶舍"), stock=(Decimal("98.00"), 10))
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(peaches, 1)
    basket.add_product(tea, 2)
    order = create_order(basket=basket)
    shop_orders_create(order=order)
    return order


def token_request(localstripe: str, number: str) -> requests.Response:
    """Stripe.js's token request for a card ``number`` (as typed), with the publishable key."""
    return requests.post(
        f"{localstripe}/v1/tokens",
        data={
            "key": "pk_test_marketplace",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
        timeout=10,
    )


def card_from_browser(localstripe: str, number: str) -> str:
    """What Stripe.js does in the buyer's browser with the publishable key: turn the card into a token
    (the card number goes to Stripe, never to us) and hand its card id to our server."""
    token = token_request(localstripe, number)
    assert token.ok, token.text
    return token.json()["card"]["id"]


def wechat_scan(localstripe: str, intent_id: str) -> dict:
    """What the buyer's WeChat does with the QR code: pay it. localstripe has no WeChat, so its dev wrapper
    (devtools/localstripe_server.py) plays the scan; the intent succeeds and its webhook goes out."""
    scanned = requests.post(
        f"{localstripe}/_dev/wechat_pay/{intent_id}/succeed", auth=("sk_test_marketplace", ""), timeout=10
    )
    assert scanned.ok, scanned.text
    return scanned.json()


@pytest.fixture
def wechat_pay_on(stripe_settings):
    stripe_settings.STRIPE_WECHAT_PAY = True
    return stripe_settings


def charged_behind_our_back(order, localstripe: str) -> Payment:
    """An intent for the order that Stripe charged without going through payment_attempt (what two racing
    processes, or a retried request, could leave behind), recorded as an attempt of ours."""
    client = stripe_client()
    intent = client.v1.payment_intents.create(
        params={
            "amount": int(order.total_incl_tax * 100),
            "currency": "cny",
            "payment_method": card_from_browser(localstripe, "4242424242424242"),
            "metadata": {"order_number": str(order.number)},
        }
    )
    payment = Payment.objects.create(
        order=order,
        intent_id=intent.id,
        client_secret=intent.client_secret,
        amount=order.total_incl_tax,
        currency="CNY",
    )
    client.v1.payment_intents.confirm(intent.id)
    return payment

"""Two tabs, a double click, ten of them at once: one order, one charge, no error page (real transactions
on PostgreSQL, a real localstripe)."""

import copy
import threading
from collections.abc import Callable

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder, ShopOrderEvent
from marketplace.payments.models import Payment
from tests.checkout.conftest import ADDRESS, order_from_two_shops
from tests.payments.conftest import card_from_browser
from tests.postgres import postgresql_only

Order = get_model("order", "Order")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    postgresql_only()


def all_at_once(count: int, submit: Callable[[int], object]) -> list:
    """Run ``submit(i)`` in ``count`` threads released together; their results (or exceptions)."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = submit(i)
        except Exception as error:  # noqa: BLE001 - the test reports it
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def succeeded_intents_at_stripe(localstripe: str, order_number: str) -> list[str]:
    """Every PaymentIntent localstripe charged for the order, whether or not we recorded it."""
    found, after = [], None
    while True:
        params = {"limit": 100, **({"starting_after": after} if after else {})}
        page = requests.get(
            f"{localstripe}/v1/payment_intents", params=params, auth=("sk_test_marketplace", ""), timeout=10
        ).json()
        found += [
            pi["id"]
            for pi in page["data"]
            if pi["metadata"].get("order_number") == order_number and pi["status"] == "succeeded"
        ]
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def test_ten_pay_submissions_of_one_order_charge_it_once(stripe_settings, localstripe):
    buyer = get_user_model().objects.create_user("buyer", "buyer@example.cn", "pw")
    order = order_from_two_shops(buyer)
    cards = [card_from_browser(localstripe, "4242424242424242") for _ in range(10)]
    pay_url = reverse("checkout:pay", kwargs={"number": order.number})

    def pay(i: int):
        client = Client()
        client.force_login(buyer)
        return client.post(pay_url, {"pay_with": "card", "payment_method": cards[i]})

    responses = all_at_once(10, pay)

    assert [r for r in responses if not hasattr(r, "status_code")] == []
    assert sorted({r.status_code for r in responses}) == [302]
    landed = {r.url for r in responses}
    assert landed <= {pay_url, reverse("checkout:thank-you", kwargs={"number": order.number})}
    assert len(succeeded_intents_at_stripe(localstripe, str(order.number))) == 1
    assert Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).count() == 1
    assert not Payment.objects.filter(order=order, status=Payment.Status.DUPLICATE).exists()
    assert set(ShopOrder.objects.filter(order=order).values_list("status", flat=True)) == {
        ShopOrder.Status.PAID
    }
    paid_events = ShopOrderEvent.objects.filter(shop_order__order=order, to_status=ShopOrder.Status.PAID)
    assert paid_events.count() == 2
    # Whoever landed on the pay page sees the order paid once the winner is done.
    client = Client()
    client.force_login(buyer)
    assert client.get(pay_url).url == reverse("checkout:thank-you", kwargs={"number": order.number})


def test_ten_checkout_submissions_of_one_basket_place_one_order(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    cards = [card_from_browser(localstripe, "4242424242424242") for _ in range(10)]
    session_cookie = client.cookies

    def place(i: int):
        tab = Client()
        tab.cookies = copy.deepcopy(session_cookie)  # the same buyer and basket, in ten tabs
        return tab.post(reverse("checkout:index"), {**ADDRESS, "payment_method": cards[i]})

    responses = all_at_once(10, place)

    assert [r for r in responses if not hasattr(r, "status_code")] == []
    assert [r.status_code for r in responses] == [302] * 10
    order = Order.objects.get()
    mine = {
        reverse("checkout:pay", kwargs={"number": order.number}),
        reverse("checkout:thank-you", kwargs={"number": order.number}),
    }
    assert {r.url for r in responses} <= mine
    assert len(succeeded_intents_at_stripe(localstripe, str(order.number))) == 1
    assert ShopOrder.objects.filter(order=order).count() == 2

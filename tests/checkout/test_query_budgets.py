"""The basket and checkout pages run the same number of queries for 1 line or 10; placing and paying a
two-shop order stays within its statement and Stripe-call budget."""

from collections import Counter
from decimal import Decimal

import pytest
import stripe
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from marketplace.order.shop_orders import shop_orders_create
from marketplace.outbox.models import OutboxMessage
from tests.checkout.conftest import ADDRESS, order_from_two_shops
from tests.factories import ProductFactory, ShopFactory
from tests.payments.conftest import card_from_browser

pytestmark = pytest.mark.django_db

# Offers are not asked for while the site has none (marketplace.basket.offers): 11 and 14 before.
BUDGETS = {"basket:summary": 6, "checkout:index": 7}
ADD_BUDGET = 17  # 20 before the count, currency and "new total" read what they need only; 23 before that


def basket_with(client, lines: int) -> None:
    shops = [ShopFactory() for _ in range(2)]
    for i in range(lines):
        product = ProductFactory(shop=shops[i % 2], stock=(Decimal("20.00"), 50))
        assert (
            client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1}).status_code == 302
        )


def queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", list(BUDGETS))
def test_page_queries_do_not_grow_with_the_basket(client, django_user_model, page):
    one_client, many_client = client, type(client)()
    basket_with(one_client, 1)
    basket_with(many_client, 10)
    one, many = queries(one_client, reverse(page)), queries(many_client, reverse(page))
    assert many == one, f"{page}: {one} queries with 1 line, {many} with 10"
    assert many <= BUDGETS[page], f"{page}: {many} queries, budget {BUDGETS[page]}"


def test_adding_to_the_basket_queries_do_not_grow_with_the_basket(client):
    counts = {}
    for lines in (1, 10):
        visitor = type(client)()
        basket_with(visitor, lines)
        product = ProductFactory(stock=(Decimal("20.00"), 50))
        with CaptureQueriesContext(connection) as ctx:
            response = visitor.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1})
        assert response.status_code == 302
        counts[lines] = len(ctx.captured_queries)
    assert counts[10] == counts[1], f"basket add: {counts[1]} queries with 1 line, {counts[10]} with 10"
    assert counts[10] <= ADD_BUDGET, f"basket add: {counts[10]} queries, budget {ADD_BUDGET}"


ORDER_HISTORY_BUDGET = 13


def test_the_buyers_order_history_queries_do_not_grow_with_the_orders(client, django_user_model):
    """Each order shows its derived status and its shops' parts: loaded with the page, not per order."""
    counts = {}
    for n in (1, 10):
        buyer = django_user_model.objects.create_user(f"buyer{n}", f"buyer{n}@example.cn", "pw")
        shops = (ShopFactory(), ShopFactory())
        for _ in range(n):
            order_from_two_shops(buyer, *shops)
        buyer_client = type(client)()
        buyer_client.force_login(buyer)
        url = reverse("customer:order-list")
        counts[n] = queries(buyer_client, url)
        assert buyer_client.get(url).content.decode().count('data-testid="buyer-order-status"') == n
    assert counts[10] == counts[1], f"order history: {counts[1]} queries with 1 order, {counts[10]} with 10"
    assert counts[10] <= ORDER_HISTORY_BUDGET, f"order history: {counts[10]} queries"


ORDER_PAGE_BUDGET = 17


def order_from_shops(user, shops: int, *, reviewed: bool = False):
    """A buyer's order with one product from each of ``shops`` shops, split into its shop orders; with
    ``reviewed``, the buyer has reviewed the first product."""
    basket = get_model("basket", "Basket").objects.create(owner=user)
    basket.strategy = Default()
    products = [ProductFactory(shop=ShopFactory(), stock=(Decimal("10.00"), 10)) for _ in range(shops)]
    for product in products:
        basket.add_product(product, 1)
    order = create_order(basket=basket, user=user)
    shop_orders_create(order=order)
    if reviewed:
        get_model("reviews", "ProductReview").objects.create(
            product=products[0], user=user, score=5, title="好", body="很好"
        )
    return order


def test_the_buyers_order_page_queries_do_not_grow_with_its_shops(client, django_user_model):
    """Each shop's part, its refunds and tracking, each line's product and whether the buyer may still
    review it: read with the order (marketplace.order.selectors.buyer_order), not per shop or line."""
    counts = {}
    for shops in (1, 6):
        buyer = django_user_model.objects.create_user(f"buyer{shops}", f"buyer{shops}@example.cn", "pw")
        order = order_from_shops(buyer, shops, reviewed=True)
        buyer_client = type(client)()
        buyer_client.force_login(buyer)
        url = reverse("customer:order", kwargs={"order_number": order.number})
        counts[shops] = queries(buyer_client, url)
        html = buyer_client.get(url).content.decode()
        assert html.count('data-testid="buyer-shop-order"') == shops
        assert html.count("#addreview") == shops - 1  # not the product the buyer reviewed
    assert counts[6] == counts[1], f"order page: {counts[1]} queries with 1 shop, {counts[6]} with 6"
    assert counts[6] <= ORDER_PAGE_BUDGET, f"order page: {counts[6]} queries"


@pytest.mark.django_db(
    transaction=True
)  # real transactions: the statements production runs, no test savepoints
def test_a_two_shop_card_checkout_runs_at_most_53_statements_and_2_stripe_calls(
    client, settings, stripe_settings, localstripe, basket_from_two_shops, monkeypatch
):
    settings.OUTBOX_DELIVER_ON_COMMIT = False  # production: the follow-ups run on workers, not here
    get_model("address", "Country").objects.create(
        iso_3166_1_a2="CN", iso_3166_1_a3="CHN", iso_3166_1_numeric="156", printable_name="中国", name="中国"
    )
    card = card_from_browser(localstripe, "4242424242424242")
    stripe_calls: list[str] = []
    real_request = stripe.RequestsClient.request

    def counted(self, method, url, headers, post_data=None):
        stripe_calls.append(f"{method.upper()} {url}")
        return real_request(self, method, url, headers, post_data)

    monkeypatch.setattr(stripe.RequestsClient, "request", counted)

    with CaptureQueriesContext(connection) as ctx:
        response = client.post(reverse("checkout:index"), {**ADDRESS, "payment_method": card})

    order = get_model("order", "Order").objects.get()
    assert response.url == reverse("checkout:thank-you", kwargs={"number": order.number})
    assert len(ctx.captured_queries) <= 53, "\n".join(q["sql"][:120] for q in ctx.captured_queries)
    assert [call.split("/v1/")[1].split("/")[-1] for call in stripe_calls] == ["payment_intents", "confirm"]
    # Read once: the paid path passes the loaded rows down instead of reading them again at each hop.
    reads = Counter(
        table
        for query in ctx.captured_queries
        if query["sql"].lstrip().upper().startswith("SELECT")
        for table in (
            "shops_shoporder",
            "payments_payment",
            "places_region",
            "order_order",
            "shops_shippingrule",
        )
        if f'FROM "{table}"' in query["sql"]
    )
    # The shipping rules once: the shop orders charge with the rules the order's total was worked out with.
    assert reads == {
        "shops_shoporder": 2,
        "payments_payment": 2,
        "places_region": 2,
        "order_order": 3,
        "shops_shippingrule": 1,
    }, reads
    # What the paid order implies waits in the outbox, for the workers.
    assert sorted(OutboxMessage.objects.filter(topic="order.paid").values_list("handler", flat=True)) == [
        "checkout.order_paid_notify",
        "harvest.paid_order_draw",
        "logistics.route_paid_order",
        "sales.facts_after_sale",
        "storefront.purchases_count",
    ]

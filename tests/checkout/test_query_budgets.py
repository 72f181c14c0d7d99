"""The basket and checkout pages run the same number of queries for 1 line or 10."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.checkout.conftest import order_from_two_shops
from tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

BUDGETS = {"basket:summary": 11, "checkout:index": 14}


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

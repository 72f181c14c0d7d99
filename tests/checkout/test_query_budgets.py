"""The basket and checkout pages run the same number of queries for 1 line or 10."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

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

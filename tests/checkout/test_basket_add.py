"""An addition to the basket reads the lines' prices once, after the addition, and not their photos or
options: the "new total" message is right without offers and with one, the basket's count and currency
are read in the database while the lines are not loaded, and the lines read for the message are not left
half-loaded for the rest of the request."""

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import create_offer

from tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

Basket = get_model("basket", "Basket")


def add(client, product, quantity: int = 1) -> tuple[list[str], list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": quantity})
    assert response.status_code == 302
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    return texts, [q["sql"] for q in ctx.captured_queries]


def total_said(texts: list[str]) -> str:
    """The last "new total" message's amount (the messages of earlier additions wait to be shown)."""
    found = re.findall(r"购物车合计：<strong>(.*?)</strong>", "".join(texts))
    assert found, texts
    return found[-1]


def test_the_new_total_is_the_whole_basket_and_the_lines_photos_and_options_are_not_read(client):
    peaches = ProductFactory(title="阳山水蜜桃", shop=ShopFactory(), stock=(Decimal("168.00"), 5))
    tea = ProductFactory(title="龙谷丽人茶", shop=ShopFactory(), stock=(Decimal("98.00"), 5))
    add(client, peaches)
    texts, statements = add(client, tea, 2)
    assert total_said(texts) == "¥364.00"  # 168 + 2 × 98, both shops
    tables = [t for sql in statements for t in re.findall(r'FROM "(\w+)"', sql)]
    assert "basket_lineattribute" not in tables, tables
    assert "catalogue_productimage" not in tables, tables
    assert tables.count("catalogue_option") == 1, tables  # whether it has options; not the options again
    # The lines with their products are read once, after the addition, for the message.
    loads = [sql for sql in statements if 'FROM "basket_line" INNER JOIN "catalogue_product"' in sql]
    assert len(loads) == 1, statements
    basket = Basket.objects.get()
    assert basket.num_items == 3
    assert basket.currency == "CNY"


def test_with_an_offer_the_new_total_is_the_discounted_one(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        create_offer(name="丰收节八折")  # 20 % off every product
    peaches = ProductFactory(shop=ShopFactory(), stock=(Decimal("100.00"), 5))
    texts, _statements = add(client, peaches, 2)
    assert total_said(texts) == "¥160.00"


def test_the_lines_read_for_the_message_are_forgotten_after_it(client):
    peaches = ProductFactory(shop=ShopFactory(), stock=(Decimal("50.00"), 5))
    add(client, peaches)
    basket = Basket.objects.get()
    basket.strategy = Default()  # as Oscar's middleware gives it
    with basket.lines_priced():
        lines = list(basket.all_lines())
        assert [line.quantity for line in lines] == [1]
        assert basket.total_incl_tax == Decimal("50.00")
    assert basket._lines is None  # noqa: SLF001  # the rest of the request loads them whole
    whole = list(basket.all_lines())
    with CaptureQueriesContext(connection) as ctx:
        assert [line.product.primary_image() for line in whole]
    assert not ctx.captured_queries  # photos came with the whole load


def test_an_empty_or_unsaved_basket_counts_nothing_and_has_no_currency():
    basket = Basket()
    assert basket.num_items == 0
    assert basket.currency is None
    basket.save()
    with CaptureQueriesContext(connection) as ctx:
        assert basket.num_items == 0
        assert basket.currency is None
    assert len(ctx.captured_queries) == 2

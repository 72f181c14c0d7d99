"""Offers are applied to a basket only when the site has any (marketplace.basket.offers): without one, a
page that shows the basket's count neither asks for offers nor loads the basket's lines; an offer made in
the admin applies to the next request, and one removed stops applying."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_offer

pytestmark = pytest.mark.django_db

ConditionalOffer = get_model("offer", "ConditionalOffer")
COUNT = re.compile(r'data-testid="basket-count">(\d+)<')


def tables_read(client, url: str) -> tuple[str, set[str]]:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), {
        t for q in ctx.captured_queries for t in re.findall(r'FROM "(\w+)"', q["sql"])
    }


def test_with_no_offer_a_page_shows_the_basket_count_without_asking_for_offers_or_loading_its_lines(
    client, basket_from_two_shops
):
    peaches, _ = basket_from_two_shops
    html, tables = tables_read(client, peaches.get_absolute_url())
    assert COUNT.search(html).group(1) == "3"  # one box of peaches, two of tea
    assert not tables & {"offer_conditionaloffer", "voucher_voucher", "basket_lineattribute"}, tables


def test_an_offer_made_applies_to_the_next_request_and_stops_when_it_is_removed(
    client, basket_from_two_shops, django_capture_on_commit_callbacks
):
    goods = Decimal("168.00") + 2 * Decimal("98.00")
    assert client.get(reverse("basket:summary")).context["basket"].total_incl_tax == goods
    with django_capture_on_commit_callbacks(execute=True):
        offer = create_offer(name="丰收节八折")  # 20 % off every product, as Oscar's factory makes it
    html, tables = tables_read(client, reverse("basket:summary"))
    assert "offer_conditionaloffer" in tables
    basket = client.get(reverse("basket:summary")).context["basket"]
    assert basket.total_incl_tax == goods * Decimal("0.8")
    assert "丰收节八折" in html
    with django_capture_on_commit_callbacks(execute=True):
        offer.delete()
    assert client.get(reverse("basket:summary")).context["basket"].total_incl_tax == goods


def test_an_offer_that_has_ended_does_not_count(
    client, basket_from_two_shops, django_capture_on_commit_callbacks
):
    peaches, _ = basket_from_two_shops
    with django_capture_on_commit_callbacks(execute=True):
        create_offer(
            name="端午特惠", start=timezone.now() - timedelta(days=9), end=timezone.now() - timedelta(days=2)
        )
    _, tables = tables_read(client, peaches.get_absolute_url())
    assert "offer_conditionaloffer" not in tables

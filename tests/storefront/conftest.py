"""Shared by the storefront's stock and page-cache tests: a peach with two boxes left, indexed, and the
list pages that show it as a card."""

from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.search.indexing import products_index
from tests.factories import ProductFactory


@pytest.fixture
def peach(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(
            title="阳山水蜜桃 湖景蜜露",
            harvest_start_month=1,
            harvest_end_month=12,
            stock=(Decimal("168.00"), 2),
        )
    products_index()
    return product


def grid_pages(product) -> list[str]:
    return [
        "/",
        reverse("catalogue:index"),
        product.shop.get_absolute_url(),
        reverse("search:search") + "?q=水蜜桃",
    ]

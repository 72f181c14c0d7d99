"""`make demo` shows the sales review and the open data: the demo orders' facts are built, Suichang has
a month with 3 shops or more, and building them again changes nothing."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from fixtures.loader import demo_load
from fixtures.orders import demo_orders_place
from fixtures.sales import demo_sales_facts
from marketplace.order.models import ShopOrder
from marketplace.periods import MONTH, period_of
from shops.sales.models import SalesDay
from shops.sales.selectors import SalesFilters, sales_review
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.django_db


def test_demo_sales_show_in_the_review_and_the_open_data(stripe_settings, client):  # noqa: F811
    demo_load()
    demo_orders_place()
    assert demo_sales_facts() >= 1
    rows = sorted(SalesDay.objects.values_list("day", "shop_id", "sales", "goods", "shipping", "refunds"))
    assert demo_sales_facts() >= 1
    assert (
        sorted(SalesDay.objects.values_list("day", "shop_id", "sales", "goods", "shipping", "refunds"))
        == rows
    )

    month = period_of(MONTH, timezone.localdate())
    totals = sales_review(period=month, filters=SalesFilters(), dimension="shop").totals
    assert totals.orders == ShopOrder.objects.exclude(status=ShopOrder.Status.PENDING_PAYMENT).count()

    published = json.loads(client.get(reverse("open_data:json")).content)
    counties = {row["name"]: row for row in published["months"][0]["by_county"]}
    assert counties["遂昌县"]["orders"] is not None

"""Query budgets of the partner portal's leg page: the same number of queries whether the leg has one
tracking event or many (the home page's budget is in test_portal.py)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from logistics.models import Leg, TrackingEvent
from logistics.routing import consignment_route
from tests.logistics.conftest import paid_shop_order
from tests.logistics.test_portal import partner_client

pytestmark = pytest.mark.django_db

MANY = 8
LEG_PAGE_BUDGET = 7


def carrier_leg_with_events(tea, n: int) -> Leg:
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    leg = consignment.legs.get(kind=Leg.Kind.CARRIER)
    start = timezone.now() - datetime.timedelta(hours=n)
    TrackingEvent.objects.bulk_create(
        TrackingEvent(
            leg=leg,
            kind="departed",
            note=f"第{i}站",
            occurred_at=start + datetime.timedelta(hours=i),
            idempotency_key=f"leg{leg.pk}-{i}",
        )
        for i in range(n)
    )
    return leg


def test_the_leg_page_query_count_does_not_grow_with_its_events(tea, django_assert_max_num_queries):
    client = partner_client("express-national")
    counts = {}
    for n in (1, MANY):
        url = reverse("logistics_portal:leg", kwargs={"pk": carrier_leg_with_events(tea, n).pk})
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert len(response.context["events"]) == n
        counts[n] = len(ctx.captured_queries)
    assert counts[MANY] == counts[1], (
        f"leg page: {counts[1]} queries with 1 event, {counts[MANY]} with {MANY}"
    )
    with django_assert_max_num_queries(LEG_PAGE_BUDGET):
        client.get(url)

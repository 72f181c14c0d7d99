"""Logistics performance beside the sales review: legs per partner, on-time rate, exceptions and
rejections; the parcels needing routing, with the count on the workspace's overview."""

import datetime

import pytest
from django.urls import reverse

from logistics.models import Consignment, Leg, LogisticsPartner, TrackingEvent
from logistics.performance import logistics_performance
from marketplace.periods import MONTH, period_of
from tests.factories import association_member
from tests.shops.sales.conftest import at, sale, shop_order_of

MARCH = period_of(MONTH, datetime.date(2026, 3, 1))


def consignment_of(order, shop, status=Consignment.Status.ROUTED, reason=""):
    return Consignment.objects.create(
        shop_order=shop_order_of(order, shop),
        status=status,
        planned_for=datetime.date(2026, 3, 2),
        reason=reason,
    )


def leg(
    consignment, sequence, partner, *, day, promised=1, status=Leg.Status.ACCEPTED, kind=Leg.Kind.FIRST_MILE
):
    return Leg.objects.create(
        consignment=consignment,
        sequence=sequence,
        kind=kind,
        partner=partner,
        day=day,
        promised_days=promised,
        status=status,
    )


def event(leg_, kind, when):
    return TrackingEvent.objects.create(
        leg=leg_, kind=kind, occurred_at=at(when), idempotency_key=f"{leg_.pk}-{kind}-{when}"
    )


@pytest.fixture
def deliveries(world):
    point = LogisticsPartner.objects.create(code="hushan-point", name="湖山服务站", kind="service_point")
    express = LogisticsPartner.objects.create(code="sf", name="顺丰", kind="express")
    first = consignment_of(sale((world.tea, 1), paid_at="2026-03-01 10:00"), world.tea_shop)
    second = consignment_of(sale((world.shoots, 1), paid_at="2026-03-01 11:00"), world.shoots_shop)
    # On time: the point hands on to the carrier the next day, the carrier delivers within 2 days.
    leg(first, 1, point, day=datetime.date(2026, 3, 2))
    a2 = leg(first, 2, express, day=datetime.date(2026, 3, 3), promised=2, kind=Leg.Kind.CARRIER)
    event(a2, "picked_up", "2026-03-03 09:00")  # hands a1 on (a1 had no delivered event)
    event(a2, "delivered", "2026-03-05 18:00")
    # Late: the point's leg is handed on three days after it was due; an exception on the way.
    b1 = leg(second, 1, point, day=datetime.date(2026, 3, 2))
    b2 = leg(second, 2, express, day=datetime.date(2026, 3, 6), promised=1, kind=Leg.Kind.CARRIER)
    event(b1, "exception", "2026-03-03 09:00")
    event(b2, "picked_up", "2026-03-06 09:00")
    # Rejected, and one still not done long after its day (overdue).
    leg(second, 3, express, day=datetime.date(2026, 3, 6), status=Leg.Status.REJECTED, kind=Leg.Kind.CARRIER)
    consignment_of(
        sale((world.peaches, 1), paid_at="2026-03-01 12:00"),
        world.peach_shop,
        status=Consignment.Status.NEEDS_ROUTING,
        reason="没有冷链承运商",
    )
    return point, express


def test_on_time_rate_per_partner(deliveries):
    point, express = deliveries
    stats = {
        entry.partner.code: entry
        for entry in logistics_performance(period=MARCH, today=datetime.date(2026, 4, 1))
    }
    assert (
        stats["hushan-point"].legs,
        stats["hushan-point"].done_on_time,
        stats["hushan-point"].done_late,
    ) == (2, 1, 1)
    assert stats["hushan-point"].on_time_rate == 50
    assert stats["hushan-point"].exceptions == 1
    assert (stats["sf"].legs, stats["sf"].done_on_time, stats["sf"].overdue, stats["sf"].rejected) == (
        2,
        1,
        1,
        1,
    )
    assert stats["sf"].on_time_rate == 50


def test_page_and_waiting_tile(client, deliveries):
    client.force_login(association_member())
    response = client.get(reverse("association:logistics"), {"period": "month", "on": "2026-03-15"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "湖山服务站" in body
    assert "50.0%" in body
    consignment = Consignment.objects.get(status=Consignment.Status.NEEDS_ROUTING)
    assert reverse("admin:logistics_consignment_route", args=[consignment.pk]) in body
    home = client.get(reverse("association:home"))
    tiles = {tile.url: tile.count for tile in home.context["waiting"]}
    assert tiles[reverse("association:logistics")] == 1
    bad = client.get(reverse("association:logistics"), {"period": "decade", "on": "yesterday"})
    assert bad.status_code == 200
    assert list(bad.context["messages"])

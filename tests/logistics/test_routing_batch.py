"""Routing in batches over the demo's partners: a batch routes each order as routing one by one does, books
the day loads once per (partner, day), falls back to the next candidate when another router took the last
slots between its reading and its booking, skips what is routed or not ready, keeps its query count flat,
and sees partners, service areas and price rules change through the routing index."""

from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import logistics.routing_index as routing_index_module
from logistics import routing
from logistics.models import Consignment, ConsignmentEvent, Leg, LogisticsPartner, PartnerDayLoad, ServiceArea
from logistics.routing import NEEDS_ROUTING, consignment_route, consignments_route_batch, decision_reasons
from logistics.routing_index import routing_index, routing_index_invalidate
from marketplace.outbox.models import OutboxMessage
from tests.logistics.conftest import SHANGHAI, URUMQI, paid_shop_order

pytestmark = pytest.mark.django_db


def route_of(consignment: Consignment) -> list[tuple[str, str]]:
    return [(leg.kind, leg.partner.code) for leg in consignment.legs.order_by("sequence")]


def test_a_batch_routes_each_order_and_books_each_partner_once_per_day(peaches, tea):
    orders = [paid_shop_order(peaches), paid_shop_order(tea, address=URUMQI), paid_shop_order(tea)]

    result = consignments_route_batch(shop_order_ids=[o.pk for o in orders])

    assert result.skipped == {}
    peach, tea_west, tea_east = (result.consignments[o.pk] for o in orders)
    assert route_of(peach) == [
        ("first_mile", "sp-taoyuan"),
        ("hub", "hub-yangshan"),
        ("carrier", "coldchain-east"),
    ]
    assert route_of(tea_west) == [
        ("first_mile", "sp-datian"),
        ("hub", "hub-suichang"),
        ("carrier", "express-national"),
    ]
    assert route_of(tea_east)[:2] == [("first_mile", "sp-datian"), ("hub", "hub-suichang")]
    # Every slot booked is a leg, and each consignment was created with its one event.
    legs = Counter(Leg.objects.values_list("partner_id", flat=True))
    assert dict(PartnerDayLoad.objects.values_list("partner_id", "booked")) == dict(legs)
    assert ConsignmentEvent.objects.filter(from_status="", to_status="routed").count() == 3
    assert Consignment.objects.count() == 3
    carrier = peach.decisions[-1]["legs"][-1]
    reasons = decision_reasons(carrier)
    assert reasons["express-national"] == "no cold chain for perishable goods"
    assert reasons["coldchain-west"] == "inactive"


def test_a_batch_gives_the_routes_and_reasons_of_routing_one_by_one(peaches, tea):
    # Given a carrier with two slots left for six orders that all want it, so the batch must see its own
    # bookings as one-by-one routing sees the earlier orders'.
    express = LogisticsPartner.objects.get(code="express-national")
    PartnerDayLoad.objects.create(
        partner=express, day=timezone.localdate(), booked=express.daily_capacity - 2
    )
    orders = [paid_shop_order(tea, address=URUMQI if n % 2 else SHANGHAI) for n in range(6)]
    orders.append(paid_shop_order(peaches, address=URUMQI))  # no cold chain to the west: needs routing

    def outcome() -> dict:
        found = {}
        for c in Consignment.objects.filter(shop_order__in=orders):
            legs = [
                (leg.kind, leg.partner_id, leg.cost, leg.promised_days) for leg in c.legs.order_by("sequence")
            ]
            decisions = [{k: v for k, v in d.items() if k != "at"} for d in c.decisions]
            found[c.shop_order_id] = (c.status, c.reason, legs, decisions)
        return found, dict(PartnerDayLoad.objects.values_list("partner_id", "booked"))

    with transaction.atomic():
        for order in orders:
            consignment_route(shop_order_id=order.pk)
        one_by_one = outcome()
        transaction.set_rollback(True)

    consignments_route_batch(shop_order_ids=[o.pk for o in orders])

    assert outcome() == one_by_one
    # The case was worth comparing: the express filled up and orders waited for routing by hand.
    statuses = Counter(status for status, *_rest in one_by_one[0].values())
    assert statuses["routed"] >= 2
    assert statuses["needs_routing"] >= 2
    assert any("express-national: full on" in reason for _s, reason, *_rest in one_by_one[0].values())


def test_a_batch_whose_slots_were_taken_meanwhile_falls_back_and_never_overbooks(tea, monkeypatch):
    # Given three Urumqi tea orders (only the national express carries dry goods there) and an express with
    # three slots left when the batch reads the loads…
    express = LogisticsPartner.objects.get(code="express-national")
    today = timezone.localdate()
    PartnerDayLoad.objects.create(partner=express, day=today, booked=express.daily_capacity - 3)
    orders = [paid_shop_order(tea, address=URUMQI) for _ in range(3)]
    read, book = routing._loads_read, routing.day_loads_book
    calls = []

    def loads_read_then_another_router_books(days):
        loads = read(days)
        # …and another router takes two of those slots between the batch's reading and its booking.
        PartnerDayLoad.objects.filter(partner=express, day=today).update(booked=express.daily_capacity - 1)
        return loads

    def booking(*, wanted):
        calls.append(dict(wanted))
        return book(wanted=wanted)

    monkeypatch.setattr(routing, "_loads_read", loads_read_then_another_router_books)
    monkeypatch.setattr(routing, "day_loads_book", booking)

    result = consignments_route_batch(shop_order_ids=[o.pk for o in orders])

    # Then the first booking (three slots) was refused whole, the second took the one slot left, and the
    # other two orders need routing, told why; the express is full, not over.
    assert len(calls) == 2
    assert calls[0][(express.pk, today)] == 3
    assert calls[1][(express.pk, today)] == 1
    assert PartnerDayLoad.objects.get(partner=express, day=today).booked == express.daily_capacity
    statuses = [result.consignments[o.pk].status for o in orders]
    assert statuses == ["routed", "needs_routing", "needs_routing"]
    for order in orders[1:]:
        consignment = result.consignments[order.pk]
        assert f"express-national: full on {today.isoformat()} (booked meanwhile)" in consignment.reason
        assert not consignment.legs.exists()
    # The service point and hub were booked for the routed order only.
    legs = Counter(Leg.objects.values_list("partner_id", flat=True))
    loads = dict(PartnerDayLoad.objects.exclude(partner=express).values_list("partner_id", "booked"))
    assert loads == {partner_id: n for partner_id, n in legs.items() if partner_id != express.pk}


def test_a_batch_with_nothing_that_fits_needs_routing_and_alerts_once_each(peaches):
    orders = [paid_shop_order(peaches, address=URUMQI) for _ in range(3)]

    result = consignments_route_batch(shop_order_ids=[o.pk for o in orders])

    for order in orders:
        consignment = result.consignments[order.pk]
        assert consignment.status == Consignment.Status.NEEDS_ROUTING
        assert "no partner for the carrier leg" in consignment.reason
        assert "coldchain-east: does not serve" in consignment.reason
        assert consignment.decisions[-1]["outcome"] == "needs routing"
    assert not Leg.objects.exists()
    assert not PartnerDayLoad.objects.filter(booked__gt=0).exists()
    alerts = OutboxMessage.objects.filter(topic=NEEDS_ROUTING)
    assert sorted(m.payload["consignment_id"] for m in alerts) == sorted(
        result.consignments[o.pk].pk for o in orders
    )


def test_a_batch_skips_what_is_routed_or_not_ready_and_routes_each_order_once(tea):
    routed = paid_shop_order(tea)
    first = consignment_route(shop_order_id=routed.pk)
    cancelled = paid_shop_order(tea)
    cancelled.status = "cancelled"
    cancelled.save(update_fields=["status"])
    fresh = paid_shop_order(tea)

    result = consignments_route_batch(shop_order_ids=[routed.pk, cancelled.pk, fresh.pk, fresh.pk, 999_999])

    assert result.consignments[routed.pk].pk == first.pk
    assert result.consignments[fresh.pk].status == Consignment.Status.ROUTED
    assert set(result.skipped) == {cancelled.pk, 999_999}
    assert "not ready for routing" in result.skipped[cancelled.pk]
    assert Consignment.objects.filter(shop_order=fresh).count() == 1
    assert Leg.objects.filter(consignment__shop_order=fresh).count() == 3
    assert Leg.objects.count() == 6


def test_a_batch_of_fifty_costs_the_queries_of_a_batch_of_one(peaches, tea):
    def queries_of(n: int) -> int:
        orders = [paid_shop_order(tea if k % 2 else peaches) for k in range(n)]
        ids = [o.pk for o in orders]
        with CaptureQueriesContext(connection) as queries:
            result = consignments_route_batch(shop_order_ids=ids)
        assert [result.consignments[pk].status for pk in ids] == ["routed"] * n
        return len(queries)

    routing_index()  # the index built before: both batches find it current
    one, fifty = queries_of(1), queries_of(50)

    assert one == fifty
    assert Consignment.objects.count() == 51
    assert Leg.objects.count() == 153


def test_the_next_batch_routes_by_the_changed_service_area(tea):
    first = consignments_route_batch(shop_order_ids=[paid_shop_order(tea).pk])
    assert route_of(next(iter(first.consignments.values())))[0] == ("first_mile", "sp-datian")

    # The Datian service point stops serving its village (the partner admin would renew the index).
    ServiceArea.objects.filter(partner__code="sp-datian").delete()
    routing_index_invalidate()

    second = consignments_route_batch(shop_order_ids=[paid_shop_order(tea).pk])
    consignment = next(iter(second.consignments.values()))
    assert consignment.status == Consignment.Status.NEEDS_ROUTING
    assert "sp-datian: does not serve" in consignment.reason


def test_the_index_sees_a_new_partner_a_switched_off_one_and_renews_itself_when_old(tea, monkeypatch):
    built = routing_index()
    assert routing_index().areas is built.areas  # current: not rebuilt

    # A partner switched off or on is read afresh for every batch.
    LogisticsPartner.objects.filter(code="express-national").update(active=False)
    assert not next(p for p in routing_index().partners if p.code == "express-national").active
    assert routing_index().areas is built.areas

    # A new partner is one the index has not read the areas of: it is rebuilt.
    second = LogisticsPartner.objects.create(code="sp-datian-2", name="大田第二服务点", kind="service_point")
    second.service_areas.create(
        region_id=next(iter(built.areas[LogisticsPartner.objects.get(code="sp-datian").pk]))
    )
    second.price_rules.create(first_kg=1, promised_days=0)
    renewed = routing_index()
    assert renewed.areas is not built.areas
    assert second.pk in renewed.areas

    # And an index older than its age limit is rebuilt even with nothing said.
    monkeypatch.setattr(routing_index_module, "MAX_AGE_SECONDS", 0.0)
    assert routing_index().areas is not renewed.areas

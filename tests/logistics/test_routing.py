"""Routing paid shop orders over the demo's partners: the Suichang chain, cold chain for perishables, the
reasons recorded, capacity never overbooked, a pre-sale routed for its ship-from date, rejections."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone
from oscar.test.factories import UserFactory

from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad
from logistics.routing import RoutingError, consignment_route, decision_reasons, leg_reject
from tests.factories import association_member
from tests.logistics.conftest import URUMQI, paid_shop_order

pytestmark = pytest.mark.django_db


def route_of(consignment: Consignment) -> list[tuple[str, str]]:
    return [(leg.kind, leg.partner.code) for leg in consignment.legs.exclude(status=Leg.Status.REJECTED)]


def test_a_yangshan_peach_order_to_shanghai_goes_service_point_hub_cold_chain(peaches):
    shop_order = paid_shop_order(peaches)

    consignment = consignment_route(shop_order_id=shop_order.pk)

    assert consignment.status == Consignment.Status.ROUTED
    assert route_of(consignment) == [
        ("first_mile", "sp-taoyuan"),
        ("hub", "hub-yangshan"),
        ("carrier", "coldchain-east"),
    ]
    assert consignment.needs_cold_chain
    assert consignment.destination.name == "浦东新区"
    # Why: the dry-goods express was a candidate for the last leg and was excluded for it.
    carrier_leg = consignment.decisions[-1]["legs"][-1]
    reasons = decision_reasons(carrier_leg)
    assert reasons["express-national"] == "no cold chain for perishable goods"
    assert reasons["coldchain-west"] == "inactive"
    assert reasons["coldchain-east"] == ""
    chosen = next(c for c in carrier_leg["candidates"] if c["partner"] == "coldchain-east")
    assert chosen["score"] is not None
    assert chosen["cost"] == "30.00"  # 2.5 kg counts as 3: ¥18 for the first kg + ¥6 × 2 further kg


def test_a_suichang_tea_order_to_xinjiang_takes_the_dry_goods_express(tea):
    shop_order = paid_shop_order(tea, address=URUMQI)

    consignment = consignment_route(shop_order_id=shop_order.pk)

    assert route_of(consignment) == [
        ("first_mile", "sp-datian"),
        ("hub", "hub-suichang"),
        ("carrier", "express-national"),
    ]
    carrier = consignment.legs.get(kind="carrier")
    assert (carrier.cost, carrier.promised_days) == (18, 5)  # the Xinjiang zone's price


def test_a_peach_order_where_no_cold_chain_goes_needs_routing_with_the_reason_and_alerts(peaches):
    association_member(email="association@example.cn")
    shop_order = paid_shop_order(peaches, address=URUMQI)

    consignment = consignment_route(shop_order_id=shop_order.pk)

    assert consignment.status == Consignment.Status.NEEDS_ROUTING
    assert "carrier" in consignment.reason
    assert "coldchain-east: does not serve" in consignment.reason
    assert "express-national: no cold chain" in consignment.reason
    assert not consignment.legs.exists()
    assert not PartnerDayLoad.objects.filter(booked__gt=0).exists()  # the first legs' slots given back


def test_the_association_is_alerted_once_after_commit(peaches, django_capture_on_commit_callbacks):
    association_member(email="association@example.cn")
    shop_order = paid_shop_order(peaches, address=URUMQI)
    with django_capture_on_commit_callbacks(execute=True):
        consignment_route(shop_order_id=shop_order.pk)
    assert [m.to for m in mail.outbox] == [["association@example.cn"]]
    assert shop_order.number in mail.outbox[0].subject


def test_routing_twice_routes_once(peaches):
    shop_order = paid_shop_order(peaches)
    first = consignment_route(shop_order_id=shop_order.pk)
    second = consignment_route(shop_order_id=shop_order.pk)
    assert first.pk == second.pk
    assert Leg.objects.count() == 3
    assert PartnerDayLoad.objects.get(partner__code="coldchain-east").booked == 1


def test_a_full_carrier_is_passed_over_for_the_next_candidate(tea):
    express = LogisticsPartner.objects.get(code="express-national")
    today = timezone.localdate()
    PartnerDayLoad.objects.create(partner=express, day=today, booked=express.daily_capacity)

    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)

    assert route_of(consignment)[-1] == ("carrier", "coldchain-east")  # dearer, but it has room
    reasons = decision_reasons(consignment.decisions[-1]["legs"][-1])
    assert reasons["express-national"] == f"full on {today.isoformat()}"


def test_a_presale_order_is_routed_for_its_ship_from_date(peaches):
    ship_from = timezone.localdate() + datetime.timedelta(days=200)
    peaches.presale_ship_from = ship_from
    peaches.save()

    consignment = consignment_route(shop_order_id=paid_shop_order(peaches).pk)

    assert consignment.planned_for == ship_from
    assert {leg.day for leg in consignment.legs.all()} == {ship_from}
    assert PartnerDayLoad.objects.filter(day=ship_from).count() == 3


def test_a_shop_that_delivers_to_the_hub_has_no_first_mile_leg(peaches):
    peaches.shop.delivers_to_hub = True
    peaches.shop.save(update_fields=["delivers_to_hub"])
    consignment = consignment_route(shop_order_id=paid_shop_order(peaches).pk)
    assert [kind for kind, _code in route_of(consignment)] == ["hub", "carrier"]


def test_an_unpaid_or_cancelled_shop_order_is_not_routed(peaches):
    shop_order = paid_shop_order(peaches)
    shop_order.status = "cancelled"
    shop_order.save(update_fields=["status"])
    with pytest.raises(RoutingError):
        consignment_route(shop_order_id=shop_order.pk)
    assert not Consignment.objects.exists()


def test_a_rejected_leg_goes_to_the_next_candidate_and_the_shop_is_told(
    tea, django_capture_on_commit_callbacks
):
    farmer = UserFactory(email="farmer@example.cn")
    tea.shop.users.add(farmer)
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    leg = consignment.legs.get(kind="carrier")
    express = leg.partner

    with django_capture_on_commit_callbacks(execute=True):
        leg_reject(leg_id=leg.pk, partner=express, reason="车辆故障")

    consignment.refresh_from_db()
    assert consignment.status == Consignment.Status.ROUTED
    assert route_of(consignment)[-1] == ("carrier", "coldchain-east")
    assert PartnerDayLoad.objects.get(partner=express).booked == 0
    assert [m.to for m in mail.outbox] == [["farmer@example.cn"]]


def test_a_rejection_with_no_other_candidate_needs_routing_and_frees_every_slot(peaches):
    consignment = consignment_route(shop_order_id=paid_shop_order(peaches).pk)
    leg = consignment.legs.get(kind="carrier")

    leg_reject(leg_id=leg.pk, partner=leg.partner, reason="满载")

    consignment.refresh_from_db()
    assert consignment.status == Consignment.Status.NEEDS_ROUTING
    assert "rejected" in consignment.reason
    assert not PartnerDayLoad.objects.filter(booked__gt=0).exists()
    # Routing again (the association, or the stuck-orders command) never offers the partner that refused.
    again = consignment_route(shop_order_id=consignment.shop_order_id)
    assert again.status == Consignment.Status.NEEDS_ROUTING


def test_the_association_can_route_by_hand_among_the_eligible(tea):
    consignment = consignment_route(
        shop_order_id=paid_shop_order(tea).pk,
        forced={"carrier": LogisticsPartner.objects.get(code="coldchain-east").pk},
        actor=UserFactory(is_staff=True),
    )
    assert route_of(consignment)[-1] == ("carrier", "coldchain-east")
    assert consignment.decisions[-1]["by"].startswith("user ")


def test_a_partner_whose_leg_was_only_set_aside_is_offered_again_after_a_rejection(peaches):
    # Given a peach order whose carrier refused with no other cold chain left: its service point and hub
    # legs were set aside (not refused) and it needed routing; then routed again over a second hub (the
    # first was off that moment) and the western cold chain.
    yangshan = LogisticsPartner.objects.get(code="hub-yangshan")
    second_hub = LogisticsPartner.objects.create(
        code="hub-huishan", name="惠山第二中转站", kind="hub", cold_chain=True, daily_capacity=100
    )
    second_hub.service_areas.create(region=yangshan.service_areas.get().region)
    second_hub.price_rules.create(first_kg=5, promised_days=0)
    consignment = consignment_route(shop_order_id=paid_shop_order(peaches).pk)
    carrier = consignment.legs.get(kind="carrier")
    leg_reject(leg_id=carrier.pk, partner=carrier.partner, reason="满载")
    LogisticsPartner.objects.filter(code="coldchain-west").update(active=True)
    LogisticsPartner.objects.filter(pk=yangshan.pk).update(active=False)
    consignment = consignment_route(shop_order_id=consignment.shop_order_id)
    assert route_of(consignment)[1] == ("hub", "hub-huishan")
    LogisticsPartner.objects.filter(pk=yangshan.pk).update(active=True)

    # When the second hub refuses its leg.
    leg = consignment.legs.get(kind="hub", status=Leg.Status.ASSIGNED)
    leg_reject(leg_id=leg.pk, partner=second_hub, reason="停电")

    # Then the first hub, which never refused this consignment, takes the leg.
    consignment.refresh_from_db()
    assert consignment.status == Consignment.Status.ROUTED, consignment.reason
    assert route_of(consignment) == [
        ("first_mile", "sp-taoyuan"),
        ("hub", "hub-yangshan"),
        ("carrier", "coldchain-west"),
    ]

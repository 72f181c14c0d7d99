"""Two routing workers route the same fifty paid orders at once against a carrier with ten slots left (real
transactions on PostgreSQL, each worker a thread with its own connection)."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad, PriceRule, ServiceArea
from logistics.routing import consignment_route, consignments_route_batch
from marketplace.checkout.services import DeliveryAddress
from marketplace.places.models import Region
from tests.factories import ProductFactory, ShopFactory
from tests.logistics.conftest import paid_shop_order
from tests.postgres import postgresql_only

ORDERS = 50
CHEAP_CAPACITY = 12
ALREADY_BOOKED = 2
SLOTS_LEFT = CHEAP_CAPACITY - ALREADY_BOOKED  # ten


def region(name: str, level: int, parent: Region | None = None) -> Region:
    return Region.objects.create(name=name, level=level, parent=parent)


def partner(code: str, kind: str, *, capacity: int, areas: list[Region], first_kg: str) -> LogisticsPartner:
    made = LogisticsPartner.objects.create(code=code, name=code, kind=kind, daily_capacity=capacity)
    ServiceArea.objects.bulk_create([ServiceArea(partner=made, region=area) for area in areas])
    PriceRule.objects.create(partner=made, zone=None, first_kg=Decimal(first_kg), promised_days=2)
    return made


def address_in(county: Region) -> DeliveryAddress:
    city = county.parent
    return DeliveryAddress("王小明", "+8613800138000", city.parent.name, city.name, county.name, "1 号")


@pytest.mark.django_db(transaction=True)
def test_two_workers_routing_fifty_orders_give_the_last_ten_carrier_slots_once():  # noqa: PLR0912
    postgresql_only()
    # Given a shop in a Suichang village and one in a Songyang village, each with its service point and
    # county hub, and buyers in two counties far away: Shanghai's Pudong, which the dearer express also
    # serves, and Urumqi's Tianshan, which only the cheap express serves.
    zhejiang = region("浙江省", 1)
    lishui = region("丽水市", 2, zhejiang)
    shanghai = region("上海市", 1)
    pudong = region("浦东新区", 3, region("上海市", 2, shanghai))
    xinjiang = region("新疆维吾尔自治区", 1)
    tianshan = region("天山区", 3, region("乌鲁木齐市", 2, xinjiang))
    products = []
    for county_name, town_name, village_name in (
        ("遂昌县", "大柘镇", "大田村"),
        ("松阳县", "四都乡", "平田村"),
    ):
        county = region(county_name, 3, lishui)
        village = region(village_name, 5, region(town_name, 4, county))
        shop = ShopFactory(
            province=zhejiang, city=lishui, county=county, town=village.parent, village=village
        )
        partner(f"sp-{shop.pk}", "service_point", capacity=1000, areas=[village], first_kg="1")
        partner(f"hub-{shop.pk}", "hub", capacity=1000, areas=[county], first_kg="2")
        products.append(
            ProductFactory(shop=shop, perishable=False, net_weight_g=250, stock=(Decimal("98"), ORDERS))
        )
    cheap = partner(
        "express-cheap",
        "express",
        capacity=CHEAP_CAPACITY,
        areas=[zhejiang, shanghai, xinjiang],
        first_kg="8",
    )
    dear = partner("express-dear", "express", capacity=1000, areas=[zhejiang, shanghai], first_kg="30")
    today = timezone.localdate()
    PartnerDayLoad.objects.create(partner=cheap, day=today, booked=ALREADY_BOOKED)
    # The shops alternate, so the two workers (one walking the ids up, one down) are mostly at orders of
    # different shops at the same moment: they meet on the carrier's slots, not on a service point's or
    # hub's row first. Half the orders of each shop go to Pudong, half to Tianshan.
    to_pudong, to_tianshan = [], []
    for n in range(ORDERS):
        destination, ids_to = (pudong, to_pudong) if n % 4 < 2 else (tianshan, to_tianshan)
        ids_to.append(paid_shop_order(products[n % 2], address=address_in(destination)).pk)
    ids = sorted(to_pudong + to_tianshan)

    # When two workers each route all fifty, one from the first and one from the last, at the same moment.
    start = threading.Barrier(2)
    seen: dict[str, dict[int, str]] = {"forwards": {}, "backwards": {}}
    errors: list[Exception] = []

    def worker(name: str, shop_order_ids: list[int]) -> None:
        try:
            start.wait()
            for shop_order_id in shop_order_ids:
                consignment = consignment_route(shop_order_id=shop_order_id)
                seen[name][shop_order_id] = consignment.status
        except Exception as error:  # a deadlock or a lost update would surface here; asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=("forwards", ids)),
        threading.Thread(target=worker, args=("backwards", ids[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    # Then the ten slots went to ten orders, the other Pudong orders to the dearer express, the other
    # Tianshan orders wait for routing by hand; every order has one consignment, routed once.
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    consignments = {c.shop_order_id: c for c in Consignment.objects.prefetch_related("legs__partner")}
    assert sorted(consignments) == ids
    carriers = {
        shop_order_id: next((leg.partner.code for leg in c.legs.all() if leg.kind == "carrier"), None)
        for shop_order_id, c in consignments.items()
    }
    assert Counter(carriers.values())["express-cheap"] == SLOTS_LEFT
    for shop_order_id in to_pudong:
        assert consignments[shop_order_id].status == Consignment.Status.ROUTED
        assert carriers[shop_order_id] in ("express-cheap", "express-dear")
    for shop_order_id in to_tianshan:
        consignment = consignments[shop_order_id]
        if carriers[shop_order_id] == "express-cheap":
            assert consignment.status == Consignment.Status.ROUTED
        else:
            assert consignment.status == Consignment.Status.NEEDS_ROUTING
            assert "express-cheap: full on" in consignment.reason
            assert "express-dear: does not serve" in consignment.reason
            assert not consignment.legs.exists()

    for shop_order_id, consignment in consignments.items():
        # Both workers saw the one outcome; the one that came second changed nothing.
        assert seen["forwards"][shop_order_id] == seen["backwards"][shop_order_id] == consignment.status
        outcomes = [decision["outcome"] for decision in consignment.decisions]
        if consignment.status == Consignment.Status.ROUTED:
            assert outcomes.count("routed") == 1
            assert [(leg.sequence, leg.kind) for leg in consignment.legs.all()] == [
                (1, "first_mile"),
                (2, "hub"),
                (3, "carrier"),
            ]
        else:
            assert set(outcomes) == {"needs routing"}

    # No partner is booked past its capacity, and every slot booked is a leg (or was booked before).
    legs_per_partner = Counter(Leg.objects.values_list("partner__code", flat=True))
    for load in PartnerDayLoad.objects.select_related("partner"):
        assert load.booked <= load.partner.daily_capacity
        assert load.booked == legs_per_partner[load.partner.code] + (
            ALREADY_BOOKED if load.partner == cheap else 0
        )
    assert PartnerDayLoad.objects.get(partner=cheap, day=today).booked == CHEAP_CAPACITY
    pudong_on_cheap = sum(carriers[i] == "express-cheap" for i in to_pudong)
    assert PartnerDayLoad.objects.get(partner=dear, day=today).booked == len(to_pudong) - pudong_on_cheap


BATCH = 5  # each worker routes its orders five at a time: many short batches, each meeting the other's


@pytest.mark.django_db(transaction=True)
def test_two_batch_routers_share_the_last_slots_of_a_carrier_without_exceeding_it():  # noqa: PLR0912, PLR0915
    postgresql_only()
    # Given the same two villages, hubs and carriers as above: the cheap express has ten slots left today,
    # the dear one serves Pudong only; forty orders, half to Pudong and half to Tianshan.
    zhejiang = region("浙江省", 1)
    lishui = region("丽水市", 2, zhejiang)
    shanghai = region("上海市", 1)
    pudong = region("浦东新区", 3, region("上海市", 2, shanghai))
    xinjiang = region("新疆维吾尔自治区", 1)
    tianshan = region("天山区", 3, region("乌鲁木齐市", 2, xinjiang))
    products = []
    for county_name, town_name, village_name in (
        ("遂昌县", "大柘镇", "大田村"),
        ("松阳县", "四都乡", "平田村"),
    ):
        county = region(county_name, 3, lishui)
        village = region(village_name, 5, region(town_name, 4, county))
        shop = ShopFactory(
            province=zhejiang, city=lishui, county=county, town=village.parent, village=village
        )
        partner(f"sp-{shop.pk}", "service_point", capacity=1000, areas=[village], first_kg="1")
        partner(f"hub-{shop.pk}", "hub", capacity=1000, areas=[county], first_kg="2")
        products.append(
            ProductFactory(shop=shop, perishable=False, net_weight_g=250, stock=(Decimal("98"), 40))
        )
    cheap = partner(
        "express-cheap",
        "express",
        capacity=CHEAP_CAPACITY,
        areas=[zhejiang, shanghai, xinjiang],
        first_kg="8",
    )
    dear = partner("express-dear", "express", capacity=1000, areas=[zhejiang, shanghai], first_kg="30")
    today = timezone.localdate()
    PartnerDayLoad.objects.create(partner=cheap, day=today, booked=ALREADY_BOOKED)
    to_pudong, to_tianshan = [], []
    for n in range(40):
        destination, ids_to = (pudong, to_pudong) if n % 2 == 0 else (tianshan, to_tianshan)
        ids_to.append(paid_shop_order(products[n % 2], address=address_in(destination)).pk)
    ids = sorted(to_pudong + to_tianshan)

    # When two workers route their halves in batches of five at the same moment (each batch wants the cheap
    # express for every order), and then each routes all forty again, as a replayed message would.
    start = threading.Barrier(2)
    errors: list[Exception] = []

    def worker(shop_order_ids: list[int]) -> None:
        try:
            start.wait()
            for first in range(0, len(shop_order_ids), BATCH):
                consignments_route_batch(shop_order_ids=shop_order_ids[first : first + BATCH])
            start.wait()
            consignments_route_batch(shop_order_ids=ids)
        except Exception as error:  # a deadlock or an overbooking would surface here; asserted below
            errors.append(error)
            start.abort()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(ids[0::2],)),
        threading.Thread(target=worker, args=(ids[1::2],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    # Then the cheap express took exactly its ten slots, never more; every order has one consignment with
    # one decision; the Pudong orders are all routed, the Tianshan ones without a slot need routing.
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    assert PartnerDayLoad.objects.get(partner=cheap, day=today).booked == CHEAP_CAPACITY
    consignments = {c.shop_order_id: c for c in Consignment.objects.prefetch_related("legs__partner")}
    assert sorted(consignments) == ids
    carriers = {
        pk: next((leg.partner.code for leg in c.legs.all() if leg.kind == "carrier"), None)
        for pk, c in consignments.items()
    }
    assert Counter(carriers.values())["express-cheap"] == SLOTS_LEFT
    for pk in to_pudong:
        assert consignments[pk].status == Consignment.Status.ROUTED
    for pk in to_tianshan:
        consignment = consignments[pk]
        if carriers[pk] == "express-cheap":
            assert consignment.status == Consignment.Status.ROUTED
        else:
            assert consignment.status == Consignment.Status.NEEDS_ROUTING
            assert "express-cheap: full on" in consignment.reason
            assert not consignment.legs.exists()
    for consignment in consignments.values():
        outcomes = [decision["outcome"] for decision in consignment.decisions]
        if consignment.status == Consignment.Status.ROUTED:
            assert outcomes.count("routed") == 1  # routed once: the second pass changed nothing
            assert [leg.kind for leg in consignment.legs.all()] == ["first_mile", "hub", "carrier"]
        else:
            assert set(outcomes) == {"needs routing"}  # tried again by the second pass, still no slot
    legs_per_partner = Counter(Leg.objects.values_list("partner__code", flat=True))
    for load in PartnerDayLoad.objects.select_related("partner"):
        assert load.booked <= load.partner.daily_capacity
        assert load.booked == legs_per_partner[load.partner.code] + (
            ALREADY_BOOKED if load.partner == cheap else 0
        )
    pudong_on_cheap = sum(carriers[pk] == "express-cheap" for pk in to_pudong)
    assert PartnerDayLoad.objects.get(partner=dear, day=today).booked == len(to_pudong) - pudong_on_cheap

"""Routing's promises, checked by Hypothesis over random partner sets and random paid shop orders.

Each example builds its own partners (every kind, service areas anywhere in a small region tree, cold-chain
flags, capacities of 0–5 parcels, parcel weight limits, active flags, price zones), shops in random villages
and paid shop orders to random counties, placed through the real checkout. The orders are routed one by one
and compared with a model worked out here from the same specs: an order gets a route exactly when every leg
has a partner that is active, serves the leg's places, keeps goods chilled after pickup when a line is
perishable, takes the parcel's weight, has a price for the destination and still has a slot that day. Then
every order is routed again, which must change nothing. Each example runs in a savepoint rolled back at the
end, so examples do not see each other's rows; the region tree is shared.
"""

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from operator import mul

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model

from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad, PriceRule, ServiceArea
from logistics.routing import consignment_route, consignments_route_batch, decision_reasons
from logistics.routing_index import routing_index_invalidate
from marketplace.checkout.services import DeliveryAddress, checkout_place
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition
from marketplace.places.models import Region
from tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

Basket = get_model("basket", "Basket")
Kind = LogisticsPartner.Kind

# The region tree's shape: how many provinces, then how many children each node has, level by level.
FAN_OUT = {
    Region.Level.PROVINCE: 2,
    Region.Level.CITY: 1,
    Region.Level.COUNTY: 2,
    Region.Level.TOWN: 1,
    Region.Level.VILLAGE: 2,
}
LEVELS = list(FAN_OUT)
NODES_AT = dict(zip(LEVELS, accumulate(FAN_OUT.values(), mul), strict=True))
FIRST_LEGS = (Kind.SERVICE_POINT, Kind.HUB)  # at least one of each is drawn; carriers may be all one kind
UNKNOWN_COUNTY = "查无此县"  # typed by a buyer, not in the tree: the destination is the city

PROPERTY_SETTINGS = settings(
    max_examples=20,  # each example places orders through the checkout: 20 keep the suite under 4 minutes
    deadline=None,
    database=None,  # nothing written to .hypothesis/ in the work tree
    # No shrinking: each example places orders through the checkout, so shrinking a failure takes Hypothesis's
    # full five minutes. A failure prints its example and a @reproduce_failure blob; to shrink it, re-run
    # with the blob and Phase.shrink added here.
    phases=[Phase.explicit, Phase.generate],
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Place:
    """A node of the region tree, by level and its index among that level's nodes."""

    level: int
    index: int


@dataclass(frozen=True)
class PriceSpec:
    zone: Place | None
    first_kg: int
    extra_kg: int
    days: int


@dataclass(frozen=True)
class PartnerSpec:
    kind: str
    active: bool
    cold_chain: bool
    capacity: int
    max_weight_g: int
    areas: tuple[Place, ...]
    prices: tuple[PriceSpec, ...]


@dataclass(frozen=True)
class ShopSpec:
    village: int
    delivers_to_hub: bool


@dataclass(frozen=True)
class LineSpec:
    perishable: bool
    weight_g: int
    quantity: int


@dataclass(frozen=True)
class OrderSpec:
    shop: int
    county: int | None  # None: the buyer typed a county the tree does not have
    city: int  # used when county is None
    lines: tuple[LineSpec, ...]


@dataclass(frozen=True)
class World:
    partners: tuple[PartnerSpec, ...]
    shops: tuple[ShopSpec, ...]
    orders: tuple[OrderSpec, ...]


# --- strategies ---------------------------------------------------------------------------------

anywhere = st.sampled_from(LEVELS).flatmap(
    lambda level: st.builds(Place, st.just(level), st.integers(0, NODES_AT[level] - 1))
)


def above(place: Place) -> list[Place]:
    """The place and its ancestors (nodes are made parent by parent, so a parent's index is the child's
    divided by the fan-out)."""
    chain = [place]
    while place.level != LEVELS[0]:
        place = Place(Region.Level(place.level - 1), place.index // FAN_OUT[place.level])
        chain.append(place)
    return chain


def partners_of(kind: str, ends: list[Place], *, wide: bool):
    """Partners of one kind. Areas and price zones are mostly drawn from above the places the world's orders
    start from or go to, otherwise from anywhere; in a "wide" world (partners serving whole provinces, like
    the carriers in the demo) mostly the provinces of those places. Drawn only from anywhere, almost no order
    would find a route and the properties of routed orders would hardly be exercised."""
    near = st.sampled_from(ends).flatmap(lambda end: st.sampled_from(above(end)))
    if wide:
        province = st.sampled_from(ends).map(lambda end: above(end)[-1])
        places = st.one_of(province, province, near, anywhere)
    else:
        places = st.one_of(near, near, near, anywhere)
    prices = st.builds(
        PriceSpec,
        zone=st.one_of(st.none(), st.none(), places),
        first_kg=st.integers(1, 30),
        extra_kg=st.integers(0, 8),
        days=st.integers(0, 5),
    )
    return st.builds(
        PartnerSpec,
        kind=st.just(kind),
        # sampled_from rather than booleans() and integers(): those favour False and 0, which would leave
        # most partners unable to carry anything.
        active=st.sampled_from([True] * 5 + [False]),
        cold_chain=st.sampled_from([True, True, True, False]),
        capacity=st.sampled_from([5, 4, 3, 2, 1, 0]),
        max_weight_g=st.sampled_from([30000, 30000, 30000, 8000, 3000, 1000]),
        areas=st.lists(places, min_size=1, max_size=3, unique=True).map(tuple),
        prices=st.lists(prices, min_size=1, max_size=2, unique_by=lambda p: p.zone).map(tuple),
    )


lines = st.builds(
    LineSpec,
    perishable=st.booleans(),
    weight_g=st.integers(50, 2500),
    quantity=st.integers(1, 2),
)


@st.composite
def worlds(draw) -> World:
    villages, counties, cities = (NODES_AT[level] for level in (Region.Level.VILLAGE, 3, 2))
    shops = draw(
        st.lists(st.builds(ShopSpec, st.integers(0, villages - 1), st.booleans()), min_size=1, max_size=3)
    )
    orders = draw(
        st.lists(
            st.builds(
                OrderSpec,
                shop=st.integers(0, len(shops) - 1),
                county=st.sampled_from([*range(counties), None]),
                city=st.integers(0, cities - 1),
                lines=st.lists(lines, min_size=1, max_size=3).map(tuple),
            ),
            min_size=1,
            max_size=6,
        )
    )
    ends = [Place(Region.Level.VILLAGE, shops[o.shop].village) for o in orders] + [
        Place(Region.Level.COUNTY, o.county) if o.county is not None else Place(Region.Level.CITY, o.city)
        for o in orders
    ]
    wide = draw(st.booleans())
    partners = []
    for kind in Kind.values:
        partners += draw(
            st.lists(partners_of(kind, ends, wide=wide), min_size=kind in FIRST_LEGS, max_size=6)
        )
    return World(tuple(partners), tuple(shops), tuple(orders))


# --- the world in the database ------------------------------------------------------------------


class Tree:
    """The shared region tree, with each node's lineage (itself and its ancestors) worked out here."""

    def __init__(self) -> None:
        self.nodes: dict[int, list[Region]] = {}
        parents: list[Region | None] = [None]
        for level in LEVELS:
            self.nodes[level] = [
                Region.objects.create(
                    name=f"性质测试{level}-{parent.pk if parent else 0}-{n}",
                    level=level,
                    parent=parent,
                )
                for parent in parents
                for n in range(FAN_OUT[level])
            ]
            parents = self.nodes[level]
        self.by_pk = {region.pk: region for nodes in self.nodes.values() for region in nodes}

    def region(self, place: Place) -> Region:
        return self.nodes[place.level][place.index]

    def lineage(self, region: Region) -> set[int]:
        ids = set()
        while region is not None:
            ids.add(region.pk)
            region = self.by_pk.get(region.parent_id)
        return ids

    def up(self, region: Region, level: int) -> Region:
        while region.level != level:
            region = self.by_pk[region.parent_id]
        return region


@pytest.fixture
def tree(db) -> Tree:
    return Tree()


@contextmanager
def rolled_back():
    """What the example writes is undone afterwards (a savepoint inside the test's transaction)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@dataclass
class BuiltPartner:
    spec: PartnerSpec
    model: LogisticsPartner
    areas: set[int]
    zones: set[int | None]


@dataclass
class BuiltOrder:
    spec: OrderSpec
    shop_order: ShopOrder
    village: Region
    county: Region
    destination: Region
    delivers_to_hub: bool
    perishable: bool
    weight_g: int


def partners_build(tree: Tree, specs: tuple[PartnerSpec, ...]) -> list[BuiltPartner]:
    built = []
    for n, spec in enumerate(specs):
        partner = LogisticsPartner.objects.create(
            code=f"{spec.kind.replace('_', '-')}-{n}",
            name=f"{spec.kind} {n}",
            kind=spec.kind,
            active=spec.active,
            cold_chain=spec.cold_chain,
            daily_capacity=spec.capacity,
            max_parcel_weight_g=spec.max_weight_g,
        )
        areas = [tree.region(place) for place in spec.areas]
        ServiceArea.objects.bulk_create([ServiceArea(partner=partner, region=region) for region in areas])
        zones = [tree.region(p.zone) if p.zone else None for p in spec.prices]
        PriceRule.objects.bulk_create(
            [
                PriceRule(
                    partner=partner,
                    zone=zone,
                    first_kg=Decimal(p.first_kg),
                    extra_kg=Decimal(p.extra_kg),
                    promised_days=p.days,
                )
                for p, zone in zip(spec.prices, zones, strict=True)
            ]
        )
        built.append(BuiltPartner(spec, partner, {r.pk for r in areas}, {z.pk if z else None for z in zones}))
    # Written here straight to the tables, not through the partner admin: renew routing's index as the
    # admin does (each example reuses the primary keys of the one rolled back before it).
    routing_index_invalidate()
    return built


def paid_order_of(tree: Tree, shop, spec: OrderSpec) -> ShopOrder:
    """A guest buyer's order of the spec's lines from ``shop``, placed by the checkout, then paid."""
    basket = Basket.objects.create()
    basket.strategy = Default()
    for line in spec.lines:
        product = ProductFactory(
            shop=shop, perishable=line.perishable, net_weight_g=line.weight_g, stock=(Decimal("30"), 10)
        )
        basket.add_product(product, line.quantity)
    if spec.county is None:
        city = tree.nodes[Region.Level.CITY][spec.city]
        county_name = UNKNOWN_COUNTY
    else:
        county = tree.nodes[Region.Level.COUNTY][spec.county]
        city, county_name = tree.up(county, Region.Level.CITY), county.name
    province = tree.up(city, Region.Level.PROVINCE)
    address = DeliveryAddress("王小明", "+8613800138000", province.name, city.name, county_name, "1 号")
    order = checkout_place(basket=basket, user=None, email="buyer@example.cn", address=address)
    shop_order = order.shop_orders.get()
    shop_order_transition(shop_order_id=shop_order.pk, to_status=ShopOrder.Status.PAID, reason="test")
    return shop_order


def orders_build(tree: Tree, world: World) -> list[BuiltOrder]:
    villages = tree.nodes[Region.Level.VILLAGE]
    shops = []
    for spec in world.shops:
        village = villages[spec.village]
        shops.append(
            ShopFactory(
                village=village,
                town=tree.up(village, Region.Level.TOWN),
                county=tree.up(village, Region.Level.COUNTY),
                city=tree.up(village, Region.Level.CITY),
                province=tree.up(village, Region.Level.PROVINCE),
                delivers_to_hub=spec.delivers_to_hub,
            )
        )
    built = []
    for spec in world.orders:
        shop = shops[spec.shop]
        destination = (
            tree.nodes[Region.Level.COUNTY][spec.county]
            if spec.county is not None
            else tree.nodes[Region.Level.CITY][spec.city]
        )
        built.append(
            BuiltOrder(
                spec=spec,
                shop_order=paid_order_of(tree, shop, spec),
                village=shop.village,
                county=shop.county,
                destination=destination,
                delivers_to_hub=shop.delivers_to_hub,
                perishable=any(line.perishable for line in spec.lines),
                weight_g=sum(line.weight_g * line.quantity for line in spec.lines),
            )
        )
    return built


# --- the model: which partners may carry each leg -----------------------------------------------


@dataclass(frozen=True)
class LegNeeds:
    kind: str
    partner_kinds: tuple[str, ...]
    serves: tuple[set[int], ...]  # lineages: a service area must be one of each
    price_to: set[int]  # lineage of where the price is for
    cold: bool


def legs_needed(tree: Tree, order: BuiltOrder) -> list[LegNeeds]:
    village, county, destination = (tree.lineage(r) for r in (order.village, order.county, order.destination))
    legs = [
        # The first mile picks up in the village and takes the parcel to the county hub.
        LegNeeds(Leg.Kind.FIRST_MILE, (Kind.SERVICE_POINT,), (village,), county, cold=False),
        LegNeeds(Leg.Kind.HUB, (Kind.HUB,), (county,), county, cold=order.perishable),
        LegNeeds(
            Leg.Kind.CARRIER,
            (Kind.EXPRESS, Kind.COLD_CHAIN),
            (county, destination),
            destination,
            cold=order.perishable,
        ),
    ]
    return legs[1:] if order.delivers_to_hub else legs


def may_carry(partner: BuiltPartner, leg: LegNeeds, order: BuiltOrder, booked: int) -> bool:
    spec = partner.spec
    return (
        spec.kind in leg.partner_kinds
        and spec.active
        and all(partner.areas & lineage for lineage in leg.serves)
        and (spec.cold_chain or not leg.cold)
        and order.weight_g <= spec.max_weight_g
        and (None in partner.zones or bool(partner.zones & leg.price_to))
        and booked < spec.capacity
    )


def day_loads() -> dict[int, int]:
    return dict(PartnerDayLoad.objects.values_list("partner_id", "booked"))


# --- the properties -----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(world=worlds())
def test_routing_keeps_its_promises_over_random_partners_and_orders(tree, world):
    with rolled_back():
        partners = partners_build(tree, world.partners)
        by_pk = {p.model.pk: p for p in partners}
        orders = orders_build(tree, world)
        booked: Counter[int] = Counter()  # the model's count of slots taken per partner

        for order in orders:
            needs = legs_needed(tree, order)
            possible = [
                {p.model.pk for p in partners if may_carry(p, leg, order, booked[p.model.pk])}
                for leg in needs
            ]
            loads_before = day_loads()

            consignment = consignment_route(shop_order_id=order.shop_order.pk)

            legs = list(consignment.legs.select_related("partner").order_by("sequence"))
            if any(
                reason.startswith("full on")
                for d in consignment.decisions
                for leg in d["legs"]
                for reason in decision_reasons(leg).values()
            ):
                event("a partner was full")
            if all(possible):
                assert consignment.status == Consignment.Status.ROUTED, consignment.reason
                assert [leg.kind for leg in legs] == [leg.kind for leg in needs]
                for leg, need, allowed in zip(legs, needs, possible, strict=True):
                    partner = leg.partner
                    assert partner.active
                    # The partner serves the leg's places: a service area is the region or above it.
                    assert all(by_pk[partner.pk].areas & lineage for lineage in need.serves)
                    if order.perishable and leg.kind != Leg.Kind.FIRST_MILE:
                        assert partner.cold_chain
                    assert partner.max_parcel_weight_g >= order.weight_g
                    assert partner.pk in allowed
                    assert leg.day == timezone.localdate()
                    booked[partner.pk] += 1
                event(f"routed ({len(legs)} legs)")
            else:
                assert consignment.status == Consignment.Status.NEEDS_ROUTING
                assert consignment.reason.strip()
                assert legs == []
                assert day_loads() == loads_before, "a consignment that needs routing booked a slot"
                event("needs routing: " + consignment.reason.split(":")[0])
            assert consignment.weight_g == order.weight_g
            assert consignment.needs_cold_chain == order.perishable

        # No partner is ever booked past its capacity, and every slot booked is a leg.
        loads = day_loads()
        for partner in partners:
            assert loads.get(partner.model.pk, 0) == booked[partner.model.pk]
            assert loads.get(partner.model.pk, 0) <= partner.spec.capacity

        # Routing every order again changes nothing: same consignments, legs and bookings.
        before = {
            c.shop_order_id: (c.pk, c.status)
            for c in Consignment.objects.filter(shop_order__in=[o.shop_order for o in orders])
        }
        legs_before = Leg.objects.count()
        for order in orders:
            again = consignment_route(shop_order_id=order.shop_order.pk)
            assert (again.pk, again.status) == before[order.shop_order.pk]
        assert Consignment.objects.count() == len(orders)
        assert Leg.objects.count() == legs_before
        assert day_loads() == loads


def routing_outcome(orders: list[BuiltOrder]) -> tuple[dict, dict[int, int]]:
    """Each order's consignment as routing left it (status, reason, legs, decisions but their time) and the
    day loads."""
    found = {}
    for c in Consignment.objects.filter(shop_order__in=[o.shop_order for o in orders]):
        legs = [(leg.kind, leg.partner_id, leg.cost, leg.promised_days, leg.day) for leg in c.legs.all()]
        decisions = [{k: v for k, v in d.items() if k != "at"} for d in c.decisions]
        found[c.shop_order_id] = (c.status, c.reason, c.weight_g, c.needs_cold_chain, legs, decisions)
    return found, day_loads()


@settings(PROPERTY_SETTINGS, max_examples=10)
@given(world=worlds())
def test_a_batch_routes_as_routing_one_by_one_over_random_partners_and_orders(tree, world):
    with rolled_back():
        partners_build(tree, world.partners)
        orders = orders_build(tree, world)
        ids = [order.shop_order.pk for order in orders]
        with rolled_back():
            for shop_order_id in ids:
                consignment_route(shop_order_id=shop_order_id)
            one_by_one = routing_outcome(orders)

        result = consignments_route_batch(shop_order_ids=ids)

        assert sorted(result.consignments) == sorted(ids)
        assert routing_outcome(orders) == one_by_one
        for status, *_rest in one_by_one[0].values():
            event(f"batch: {status}")

"""Routing a paid shop order on the Suichang model: village service point (first mile) → county hub →
express or cold-chain carrier → buyer.

For each leg every partner of the leg's kind is a candidate; each is excluded for a stated reason (inactive,
does not serve the origin or destination, cannot keep goods chilled, parcel too heavy, no price for the
destination, full that day) or scored by the configured policy (``settings.LOGISTICS_ROUTING_POLICY``: cost,
promised days, and spread of load), lowest first. The best is booked with a conditional UPDATE that never
exceeds its daily capacity; if another worker took the last slot meanwhile, the next candidate is tried.
Every decision is recorded on the consignment. No route → "needs routing" with the reason, nothing dropped.
"""

import datetime
import hashlib
import math
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad, PriceRule
from logistics.states import LEG_TRANSITIONS, consignment_move, leg_move
from marketplace.locks import for_update
from marketplace.order.models import ShopOrder
from marketplace.outbox.services import outbox_emit
from marketplace.places.models import Region
from marketplace.places.selectors import region_children, region_match
from marketplace.shipping.parcels import parcel_line

if TYPE_CHECKING:
    from oscar.apps.order.models import ShippingAddress

Kind = LogisticsPartner.Kind
S = ShopOrder.Status
ROUTABLE = (S.PAID, S.ACCEPTED, S.PACKED)
# Follow-ups written to the outbox: the association is told a parcel needs routing by hand (key: the
# consignment and a hash of the reason, so an unchanged reason is not news), a shop that a partner refused
# its parcel's leg (key: the leg).
NEEDS_ROUTING = "logistics.needs_routing"
LEG_REJECTED = "logistics.leg_rejected"
RE_ROUTING = "re-routing the consignment"  # legs set aside by a rejection elsewhere, not refused
DEFAULT_POLICY = {"cost": 1.0, "days": 5.0, "load": 10.0}  # ¥1 of cost ≈ 1 point; a day ≈ ¥5


class RoutingError(ValueError):
    pass


@dataclass
class Candidate:
    partner_id: int
    partner: str
    excluded: str = ""
    cost: str = ""
    days: int | None = None
    load: float | None = None
    score: float | None = None


@dataclass
class LegPlan:
    kind: str
    origin_id: int | None
    destination_id: int | None
    candidates: list[Candidate] = field(default_factory=list)
    chosen: int | None = None


@dataclass(frozen=True)
class Shipment:
    """What routing needs to know about one shop order's parcel."""

    shop_order_id: int
    origin: Region | None  # the shop's village (or its deepest known region)
    origin_county: Region | None
    destination: Region | None  # the buyer's county (or city, or province)
    needs_cold_chain: bool
    weight_g: int
    day: datetime.date
    to_hub_by_shop: bool


def _policy() -> dict[str, float]:
    return {**DEFAULT_POLICY, **getattr(settings, "LOGISTICS_ROUTING_POLICY", {})}


def region_lineage(region: Region | None) -> list[int]:
    """The region and its ancestors' ids (a service area covers everything below it)."""
    ids = []
    while region is not None:
        ids.append(region.pk)
        region = region.parent
    return ids


def destination_resolve(address: "ShippingAddress | None") -> Region | None:
    """The deepest region of a delivery address (province → city → county by name)."""
    if address is None:
        return None
    province = region_match(typed=address.state or "", candidates=region_children(parent=None, level=1))
    if province is None:
        return None
    city = region_match(typed=address.line4 or "", candidates=region_children(parent=province, level=2))
    if city is None:
        return province
    county = region_match(typed=address.line2 or "", candidates=region_children(parent=city, level=3))
    return county or city


def shipment_of(shop_order: ShopOrder) -> Shipment:
    shop = shop_order.shop
    lines = [parcel_line(line) for line in shop_order.lines().select_related("product")]
    origin = shop.village or shop.town or shop.county
    return Shipment(
        shop_order_id=shop_order.pk,
        origin=origin,
        origin_county=shop.county,
        destination=destination_resolve(shop_order.order.shipping_address),
        needs_cold_chain=shop_order.needs_cold_chain or any(line.perishable for line in lines),
        weight_g=max(sum((line.net_weight_g or 0) * line.quantity for line in lines), 1),
        day=max(shop_order.ships_on or timezone.localdate(), timezone.localdate()),
        to_hub_by_shop=shop.delivers_to_hub,
    )


def _price(
    partner: LogisticsPartner, destination_lineage: list[int], weight_g: int
) -> tuple[Decimal, int] | None:
    """The partner's deepest price rule whose zone holds the destination (else its catch-all)."""
    depth = {region_id: index for index, region_id in enumerate(destination_lineage)}
    best: tuple[int, PriceRule] | None = None
    for rule in partner.price_rules.all():
        if rule.zone_id is None:
            rank = len(destination_lineage)
        elif rule.zone_id in depth:
            rank = depth[rule.zone_id]
        else:
            continue
        if best is None or rank < best[0]:
            best = (rank, rule)
    if best is None:
        return None
    rule = best[1]
    extra_kg = math.ceil(max(weight_g - 1000, 0) / 1000)
    return rule.first_kg + rule.extra_kg * extra_kg, rule.promised_days


def _partners(kinds: tuple[str, ...]) -> list[LogisticsPartner]:
    return list(
        LogisticsPartner.objects.filter(kind__in=kinds)
        .prefetch_related("service_areas", Prefetch("price_rules", queryset=PriceRule.objects.all()))
        .order_by("code")
    )


def _loads(partner_ids: list[int], day: datetime.date) -> dict[int, int]:
    return dict(
        PartnerDayLoad.objects.filter(partner_id__in=partner_ids, day=day).values_list("partner_id", "booked")
    )


def _evaluate(
    *,
    plan: LegPlan,
    partners: list[LogisticsPartner],
    serves: list[list[int]],
    price_to: list[int],
    shipment: Shipment,
    cold_needed: bool,
    refused: set[int],
) -> None:
    policy = _policy()
    loads = _loads([p.pk for p in partners], shipment.day)
    for partner in partners:
        candidate = Candidate(partner_id=partner.pk, partner=partner.code)
        area_ids = {area.region_id for area in partner.service_areas.all()}
        price = _price(partner, price_to, shipment.weight_g)
        booked = loads.get(partner.pk, 0)
        if partner.pk in refused:
            candidate.excluded = "rejected this consignment"
        elif not partner.active:
            candidate.excluded = "inactive"
        elif any(not area_ids.intersection(lineage) for lineage in serves):
            candidate.excluded = "does not serve " + " and ".join(
                str(lineage[0]) for lineage in serves if not area_ids.intersection(lineage)
            )
        elif cold_needed and not partner.cold_chain:
            candidate.excluded = "no cold chain for perishable goods"
        elif shipment.weight_g > partner.max_parcel_weight_g:
            candidate.excluded = f"parcel {shipment.weight_g} g over its {partner.max_parcel_weight_g} g"
        elif price is None:
            candidate.excluded = "no price for the destination"
        elif booked >= partner.daily_capacity:
            candidate.excluded = f"full on {shipment.day.isoformat()}"
        else:
            cost, days = price
            load = booked / partner.daily_capacity if partner.daily_capacity else 1.0
            candidate.cost, candidate.days, candidate.load = str(cost), days, round(load, 4)
            candidate.score = round(
                float(cost) * policy["cost"] + days * policy["days"] + load * policy["load"], 4
            )
        plan.candidates.append(candidate)


def capacity_book(*, partner_id: int, day: datetime.date) -> bool:
    """Take one parcel slot of the partner on ``day``; False (nothing taken) when it is full."""
    PartnerDayLoad.objects.bulk_create(
        [PartnerDayLoad(partner_id=partner_id, day=day)], ignore_conflicts=True
    )
    capacity = LogisticsPartner.objects.filter(pk=partner_id).values_list("daily_capacity", flat=True)
    return bool(
        PartnerDayLoad.objects.filter(partner_id=partner_id, day=day, booked__lt=capacity[:1]).update(
            booked=F("booked") + 1
        )
    )


def capacity_release(*, partner_id: int, day: datetime.date) -> None:
    PartnerDayLoad.objects.filter(partner_id=partner_id, day=day, booked__gt=0).update(booked=F("booked") - 1)


def _choose_and_book(plan: LegPlan, day: datetime.date, forced: int | None) -> Candidate | None:
    """Book the best eligible candidate of ``plan`` (the ``forced`` partner's only) and return it; None
    when none has room."""
    eligible = sorted((c for c in plan.candidates if not c.excluded), key=lambda c: (c.score, c.partner))
    if forced is not None:
        eligible = [c for c in eligible if c.partner_id == forced]
    for candidate in eligible:
        if capacity_book(partner_id=candidate.partner_id, day=day):
            plan.chosen = candidate.partner_id
            return candidate
        candidate.excluded = f"full on {day.isoformat()} (booked meanwhile)"
    return None


# The partners of each set of partner kinds, loaded once per routing run (or batch of runs).
PartnersCache = dict[tuple[str, ...], list[LogisticsPartner]]

LEG_PARTNER_KINDS: dict[str, tuple[str, ...]] = {
    Leg.Kind.FIRST_MILE: (Kind.SERVICE_POINT,),
    Leg.Kind.HUB: (Kind.HUB,),
    Leg.Kind.CARRIER: (Kind.EXPRESS, Kind.COLD_CHAIN),
}


def _leg_specs(shipment: Shipment) -> list[tuple[str, tuple[str, ...]]]:
    kinds = [Leg.Kind.HUB, Leg.Kind.CARRIER]
    if not shipment.to_hub_by_shop:
        kinds.insert(0, Leg.Kind.FIRST_MILE)
    return [(kind, LEG_PARTNER_KINDS[kind]) for kind in kinds]


def _leg_plan(
    *,
    kind: str,
    partner_kinds: tuple[str, ...],
    shipment: Shipment,
    refused: set[int],
    partners_cache: PartnersCache,
) -> LegPlan:
    origin_lineage = region_lineage(shipment.origin)
    county_lineage = region_lineage(shipment.origin_county) or origin_lineage
    destination_lineage = region_lineage(shipment.destination)
    if kind == Leg.Kind.FIRST_MILE:
        plan = LegPlan(
            kind,
            shipment.origin.pk if shipment.origin else None,
            county_lineage[0] if county_lineage else None,
        )
        serves, price_to, cold = [origin_lineage], county_lineage, False
    elif kind == Leg.Kind.HUB:
        plan = LegPlan(
            kind, county_lineage[0] if county_lineage else None, county_lineage[0] if county_lineage else None
        )
        serves, price_to, cold = [county_lineage], county_lineage, shipment.needs_cold_chain
    else:
        plan = LegPlan(
            kind,
            county_lineage[0] if county_lineage else None,
            shipment.destination.pk if shipment.destination else None,
        )
        serves, price_to, cold = (
            [county_lineage, destination_lineage],
            destination_lineage,
            shipment.needs_cold_chain,
        )
    if partner_kinds not in partners_cache:
        partners_cache[partner_kinds] = _partners(partner_kinds)
    if any(not lineage for lineage in serves):
        plan.candidates.append(
            Candidate(partner_id=0, partner="-", excluded="the address is not in the region tree")
        )
        return plan
    _evaluate(
        plan=plan,
        partners=partners_cache[partner_kinds],
        serves=serves,
        price_to=price_to,
        shipment=shipment,
        cold_needed=cold,
        refused=refused,
    )
    return plan


def _decision(plans: list[LegPlan], *, by: str, outcome: str) -> dict[str, Any]:
    return {
        "at": timezone.now().isoformat(),
        "by": by,
        "outcome": outcome,
        "policy": _policy(),
        "legs": [asdict(plan) for plan in plans],
    }


def consignment_candidates(*, shop_order_id: int) -> list[LegPlan]:
    """Each leg's candidates as routing would judge them now (nothing booked): what an association user
    chooses from when routing by hand."""
    shop_order = ShopOrder.objects.select_related("shop", "order__shipping_address").get(pk=shop_order_id)
    shipment = shipment_of(shop_order)
    cache: PartnersCache = {}
    return [
        _leg_plan(
            kind=kind, partner_kinds=partner_kinds, shipment=shipment, refused=set(), partners_cache=cache
        )
        for kind, partner_kinds in _leg_specs(shipment)
    ]


def consignment_route(
    *,
    shop_order_id: int,
    forced: dict[str, int] | None = None,
    actor: AbstractBaseUser | None = None,
    partners_cache: PartnersCache | None = None,
) -> Consignment:
    """Plan (and book) the legs of a paid shop order. Idempotent: a routed consignment is returned as it
    is. ``forced`` (leg kind → partner id) is an association user's choice among the eligible candidates."""
    partners_cache = {} if partners_cache is None else partners_cache
    with transaction.atomic():
        shop_order = (
            for_update(ShopOrder.objects.all(), of=("self",))
            .select_related(
                "shop__village__parent__parent__parent__parent",
                "shop__county__parent__parent",
                "order__shipping_address",
            )
            .get(pk=shop_order_id)
        )
        existing = Consignment.objects.filter(shop_order=shop_order).first()
        if existing is not None and existing.status != Consignment.Status.NEEDS_ROUTING:
            return existing
        if shop_order.status not in ROUTABLE:
            raise RoutingError(
                f"shop order {shop_order.number} is {shop_order.status}, not ready for routing"
            )
        shipment = shipment_of(shop_order)
        consignment = existing or Consignment(shop_order=shop_order)
        consignment.planned_for = shipment.day
        consignment.needs_cold_chain = shipment.needs_cold_chain
        consignment.weight_g = shipment.weight_g
        consignment.origin = shipment.origin
        consignment.destination = shipment.destination

        plans: list[LegPlan] = []
        booked: list[tuple[LegPlan, Candidate]] = []  # every leg of a routed consignment, with its partner
        missing = ""
        refused: dict[str, set[int]] = {}
        if existing is not None:
            for kind, partner_id in (
                existing.legs.filter(status=Leg.Status.REJECTED)
                .exclude(reject_reason=RE_ROUTING)
                .values_list("kind", "partner_id")
            ):
                refused.setdefault(kind, set()).add(partner_id)
        sid = transaction.savepoint()
        for kind, partner_kinds in _leg_specs(shipment):
            plan = _leg_plan(
                kind=kind,
                partner_kinds=partner_kinds,
                shipment=shipment,
                refused=refused.get(str(kind), set()),
                partners_cache=partners_cache,
            )
            plans.append(plan)
            chosen = _choose_and_book(plan, shipment.day, (forced or {}).get(str(kind)))
            if chosen is None:
                missing = f"no partner for the {kind} leg: " + (
                    "; ".join(f"{c.partner}: {c.excluded}" for c in plan.candidates)
                    or f"no partner of kind {', '.join(partner_kinds)}"
                )
                break
            booked.append((plan, chosen))
        by = f"user {actor.pk}" if actor is not None else "routing"
        if missing:
            transaction.savepoint_rollback(sid)
            consignment.reason = missing
            consignment.decisions = [*consignment.decisions, _decision(plans, by=by, outcome="needs routing")]
            if existing is None:
                consignment_move(
                    consignment=consignment,
                    to_status=Consignment.Status.NEEDS_ROUTING,
                    actor=actor,
                    reason=missing,
                )
            else:  # it needed routing and still does: a new attempt, not a move
                consignment.save()
            _needs_routing_alert(consignment)
            return consignment
        transaction.savepoint_commit(sid)
        consignment.reason = ""
        consignment.decisions = [*consignment.decisions, _decision(plans, by=by, outcome="routed")]
        if existing is not None:
            consignment.save()
        consignment_move(consignment=consignment, to_status=Consignment.Status.ROUTED, actor=actor, reason=by)
        Leg.objects.bulk_create(
            [
                Leg(
                    consignment=consignment,
                    sequence=index,
                    kind=plan.kind,
                    partner_id=chosen.partner_id,
                    day=shipment.day,
                    cost=Decimal(chosen.cost or "0"),
                    promised_days=chosen.days or 0,
                )
                for index, (plan, chosen) in enumerate(booked, start=1)
            ]
        )
    return consignment


def _needs_routing_alert(consignment: Consignment) -> None:
    """Tell the association (through the outbox), once per consignment and reason."""
    reason = hashlib.sha256(consignment.reason.encode()).hexdigest()[:16]
    outbox_emit(
        topic=NEEDS_ROUTING, key=f"{consignment.pk}-{reason}", payload={"consignment_id": consignment.pk}
    )


def leg_reject(
    *, leg_id: int, partner: LogisticsPartner, reason: str, actor: AbstractBaseUser | None = None
) -> Consignment:
    """The partner (through ``actor``, one of its portal users, or its API token) will not carry this leg:
    free its slot and give the leg to the next candidate (never one that refused it before); none left →
    the consignment needs routing. The shop is told either way."""
    with transaction.atomic():
        # Consignment first, then the leg: the order of marketplace.locks.LOCK_ORDER (no deadlock).
        consignment_id = (
            Leg.objects.filter(pk=leg_id, partner=partner).values_list("consignment_id", flat=True).get()
        )
        consignment = for_update(Consignment.objects.all()).get(pk=consignment_id)
        leg = for_update(Leg.objects.all()).get(pk=leg_id, partner=partner)
        if Leg.Status.REJECTED not in LEG_TRANSITIONS[leg.status]:
            raise RoutingError("only an assigned or accepted leg can be rejected")
        shop_order = ShopOrder.objects.select_related(
            "shop__village", "shop__county", "order__shipping_address"
        ).get(pk=consignment.shop_order_id)
        leg_move(leg=leg, to_status=Leg.Status.REJECTED, actor=actor, partner=partner, reason=reason)
        capacity_release(partner_id=leg.partner_id, day=leg.day)
        # Legs set aside to plan the whole consignment again were not refused by their partner.
        refused = set(
            Leg.objects.filter(consignment=consignment, kind=leg.kind, status=Leg.Status.REJECTED)
            .exclude(reject_reason=RE_ROUTING)
            .values_list("partner_id", flat=True)
        )
        shipment = replace(shipment_of(shop_order), day=leg.day)
        plan = _leg_plan(
            kind=leg.kind,
            partner_kinds=LEG_PARTNER_KINDS[leg.kind],
            shipment=shipment,
            refused=refused,
            partners_cache={},
        )
        chosen = _choose_and_book(plan, leg.day, None)
        if chosen is not None:
            Leg.objects.create(
                consignment=consignment,
                sequence=leg.sequence,
                kind=leg.kind,
                partner_id=chosen.partner_id,
                day=leg.day,
                cost=Decimal(chosen.cost or "0"),
                promised_days=chosen.days or 0,
            )
            outcome = "re-routed after a rejection"
        else:
            # Start again clean: the other legs give back their slots, and routing (by the association,
            # or the stuck-orders command) plans the whole consignment again.
            for other in (
                for_update(Leg.objects.all())
                .filter(consignment=consignment, status__in=(Leg.Status.ASSIGNED, Leg.Status.ACCEPTED))
                .order_by("pk")
            ):
                capacity_release(partner_id=other.partner_id, day=other.day)
                leg_move(
                    leg=other, to_status=Leg.Status.REJECTED, actor=actor, partner=partner, reason=RE_ROUTING
                )
            consignment.reason = (
                f"{partner.code} rejected the {leg.get_kind_display()} leg ({reason}); no other partner: "
                + "; ".join(f"{c.partner}: {c.excluded}" for c in plan.candidates)
            )
            outcome = "needs routing"
            consignment_move(
                consignment=consignment,
                to_status=Consignment.Status.NEEDS_ROUTING,
                actor=actor,
                partner=partner,
                reason=consignment.reason,
            )
            _needs_routing_alert(consignment)
        consignment.decisions = [
            *consignment.decisions,
            _decision([plan], by=f"partner {partner.code}", outcome=outcome),
        ]
        consignment.save(update_fields=["reason", "decisions", "updated_at"])
        outbox_emit(topic=LEG_REJECTED, key=str(leg.pk), payload={"leg_id": leg.pk})
    return consignment

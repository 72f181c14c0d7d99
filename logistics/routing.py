"""Routing paid shop orders on the Suichang model: village service point (first mile) → county hub →
express or cold-chain carrier → buyer.

For each leg every partner of the leg's kind is a candidate; each is excluded for a stated reason (inactive,
does not serve the origin or destination, cannot keep goods chilled, parcel too heavy, no price for the
destination, full that day) or scored by the configured policy (``settings.LOGISTICS_ROUTING_POLICY``: cost,
promised days, and spread of load), lowest first. Every decision is recorded on the consignment. No route →
"needs routing" with the reason, nothing dropped.

Shop orders are routed in batches (``consignments_route_batch``; ``consignment_route`` is a batch of one):
the orders with their shops' places and addresses, and their lines, are read in two queries as plain
values, the partners (one query) and places from the worker's in-memory index (``routing_index``); the
legs of the whole batch are planned in Python in the batch's order (each order sees the slots the ones
before it took), then the day loads are booked with one conditional upsert for the batch, in (partner, day)
order, which never exceeds a partner's capacity. If another router took the last slots meanwhile, the
booking is undone (its savepoint), the batch planned again knowing the partner's real load, and booked
again. Consignments, their events and legs are then written in bulk.
"""

import datetime
import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from oscar.core.loading import get_model

from logistics.bulk import rows_insert
from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad
from logistics.routing_index import PartnerEntry, RoutingIndex, routing_index
from logistics.states import LEG_TRANSITIONS, consignment_move, consignments_create, leg_move
from logistics.webhooks import legs_created_emit
from marketplace.locks import for_update
from marketplace.order.models import ShopOrder
from marketplace.outbox.services import outbox_emit

if TYPE_CHECKING:
    from oscar.apps.order.models import Line
else:
    Line = get_model("order", "Line")

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
# Booking rounds before a batch gives up (each lost round learns a partner's real load, so a batch only
# loses this many when other routers keep taking the slots it plans on): the batch is then rolled back.
BOOKING_ROUNDS = 20

# (partner id, day): the key of a day load.
Slot = tuple[int, datetime.date]


class RoutingError(ValueError):
    pass


@dataclass(slots=True)
class Candidate:
    partner_id: int
    partner: str
    excluded: str = ""
    cost: str = ""
    days: int | None = None
    load: float | None = None
    score: float | None = None


@dataclass(slots=True)
class LegPlan:
    kind: str
    origin_id: int | None
    destination_id: int | None
    candidates: list[Candidate] = field(default_factory=list)
    chosen: int | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    """What routing needs to know about one shop order's parcel (region ids from the routing index)."""

    shop_order_id: int
    origin_id: int | None  # the shop's village (or its deepest known region)
    origin_county_id: int | None
    destination_id: int | None  # the buyer's county (or city, or province)
    needs_cold_chain: bool
    weight_g: int
    day: datetime.date
    to_hub_by_shop: bool


@dataclass(frozen=True, slots=True)
class ShopOrderRow:
    """A shop order as routing reads it, with its parcel."""

    pk: int
    number: str
    status: str
    shipment: Shipment


@dataclass(slots=True)
class OrderPlan:
    """One order's legs as planned in a batch: ``chosen`` holds a candidate per leg when routed."""

    shipment: Shipment
    plans: list[LegPlan]
    chosen: list[Candidate]
    missing: str


@dataclass
class BatchResult:
    """A batch's outcome: the consignment of every shop order routed or found routed, and why the others
    were not routed (not paid, cancelled, gone)."""

    consignments: dict[int, Consignment] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)


def _policy() -> dict[str, float]:
    return {**DEFAULT_POLICY, **getattr(settings, "LOGISTICS_ROUTING_POLICY", {})}


# --- reading the orders -------------------------------------------------------------------------


def shipments_read(
    *, shop_order_ids: Sequence[int], index: RoutingIndex | None = None, lock: bool = False
) -> tuple[dict[int, ShopOrderRow], RoutingIndex]:
    """The shop orders with their parcels, in two queries of plain values (and the index's one for the
    partners), and the index they were resolved with. ``lock``: take the shop orders' row locks (in
    primary-key order, as ``marketplace.locks`` wants)."""
    rows = ShopOrder.objects.filter(pk__in=shop_order_ids)
    if lock:
        rows = for_update(rows, of=("self",))
    values = list(
        rows.values_list(
            "pk",
            "number",
            "status",
            "needs_cold_chain",
            "ships_on",
            "order_id",
            "shop_id",
            "shop__village_id",
            "shop__town_id",
            "shop__county_id",
            "shop__delivers_to_hub",
            "order__shipping_address__state",
            "order__shipping_address__line4",
            "order__shipping_address__line2",
        )
    )
    weights: Counter[tuple[int, int]] = Counter()
    perishable: set[tuple[int, int]] = set()
    if values:
        for order_id, partner_id, quantity, weight_g, is_perishable in Line.objects.filter(
            order_id__in={row[5] for row in values}
        ).values_list("order_id", "partner_id", "quantity", "product__net_weight_g", "product__perishable"):
            weights[(order_id, partner_id)] += (weight_g or 0) * quantity
            if is_perishable:
                perishable.add((order_id, partner_id))
    if index is None:
        index = routing_index(regions=[r for row in values for r in (row[7], row[8], row[9])])
    today = timezone.localdate()
    found: dict[int, ShopOrderRow] = {}
    for (
        pk,
        number,
        status,
        needs_cold_chain,
        ships_on,
        order_id,
        shop_id,
        village_id,
        town_id,
        county_id,
        to_hub,
        state,
        line4,
        line2,
    ) in values:
        key = (order_id, shop_id)
        shipment = Shipment(
            shop_order_id=pk,
            origin_id=village_id or town_id or county_id,
            origin_county_id=county_id,
            destination_id=index.destination(state, line4, line2),
            needs_cold_chain=needs_cold_chain or key in perishable,
            weight_g=max(weights[key], 1),
            day=max(ships_on or today, today),
            to_hub_by_shop=to_hub,
        )
        found[pk] = ShopOrderRow(pk=pk, number=number, status=status, shipment=shipment)
    return found, index


def shipment_of(shop_order: ShopOrder) -> Shipment:
    """One shop order's parcel as routing sees it."""
    return shipments_read(shop_order_ids=[shop_order.pk])[0][shop_order.pk].shipment


# --- planning (pure Python) ---------------------------------------------------------------------

LEG_PARTNER_KINDS: dict[str, tuple[str, ...]] = {
    Leg.Kind.FIRST_MILE: (Kind.SERVICE_POINT,),
    Leg.Kind.HUB: (Kind.HUB,),
    Leg.Kind.CARRIER: (Kind.EXPRESS, Kind.COLD_CHAIN),
}


def _leg_kinds(shipment: Shipment) -> list[str]:
    kinds = [Leg.Kind.HUB, Leg.Kind.CARRIER]
    if not shipment.to_hub_by_shop:
        kinds.insert(0, Leg.Kind.FIRST_MILE)
    return [str(kind) for kind in kinds]


@dataclass
class Loads:
    """Parcels booked per (partner, day) as this batch knows them: the database's when read, plus what the
    batch has planned so far; capacities learnt from the database when a booking was refused."""

    booked: dict[Slot, int]
    capacity: dict[int, int] = field(default_factory=dict)
    contended: set[Slot] = field(default_factory=set)  # refused a booking: taken by another router

    def capacity_of(self, partner: PartnerEntry) -> int:
        return self.capacity.get(partner.pk, partner.daily_capacity)


@dataclass(frozen=True, slots=True)
class LegNeeds:
    """What a leg asks of its partner: to serve each of these places (lineages: the place and the regions
    above it), a price to ``price_to``, a cold chain."""

    serves: tuple[tuple[int, ...], ...]
    price_to: tuple[int, ...]
    cold: bool


def _evaluate(
    *,
    plan: LegPlan,
    index: RoutingIndex,
    needs: LegNeeds,
    shipment: Shipment,
    refused: set[int],
    loads: Loads,
    policy: dict[str, float],
) -> None:
    weight_g, day = shipment.weight_g, shipment.day
    serves, price_to, cold_needed = needs.serves, needs.price_to, needs.cold
    # The partners serving each place (one set per place, remembered by the index).
    # The partners serving each place (remembered by the index): one place, or the origin and destination.
    first_served = index.serving(serves[0])
    second_served = index.serving(serves[1]) if len(serves) > 1 else None
    not_first = "does not serve " + str(serves[0][0])
    not_second = "does not serve " + str(serves[-1][0])
    not_either = f"{not_first} and {serves[-1][0]}"
    extra_kg = math.ceil(max(weight_g - 1000, 0) / 1000)
    booked_on = loads.booked
    for partner in index.partners_of(LEG_PARTNER_KINDS[plan.kind]):
        pk = partner.pk
        candidate = Candidate(partner_id=pk, partner=partner.code)
        if pk in refused:
            candidate.excluded = "rejected this consignment"
        elif not partner.active:
            candidate.excluded = "inactive"
        elif pk not in first_served:
            candidate.excluded = (
                not_either if second_served is not None and pk not in second_served else not_first
            )
        elif second_served is not None and pk not in second_served:
            candidate.excluded = not_second
        elif cold_needed and not partner.cold_chain:
            candidate.excluded = "no cold chain for perishable goods"
        elif weight_g > partner.max_parcel_weight_g:
            candidate.excluded = f"parcel {weight_g} g over its {partner.max_parcel_weight_g} g"
        elif (price := partner.price_for(price_to)) is None:
            candidate.excluded = "no price for the destination"
        else:
            booked = booked_on.get((partner.pk, day), 0)
            capacity = loads.capacity_of(partner)
            if booked >= capacity:
                candidate.excluded = f"full on {day.isoformat()}" + (
                    " (booked meanwhile)" if (partner.pk, day) in loads.contended else ""
                )
            else:
                cost = price.first_kg + price.extra_kg * extra_kg
                load = booked / capacity if capacity else 1.0
                candidate.cost, candidate.days, candidate.load = (
                    str(cost),
                    price.promised_days,
                    round(load, 4),
                )
                candidate.score = round(
                    float(cost) * policy["cost"]
                    + price.promised_days * policy["days"]
                    + load * policy["load"],
                    4,
                )
        plan.candidates.append(candidate)


def _leg_plan(
    *,
    kind: str,
    shipment: Shipment,
    index: RoutingIndex,
    refused: set[int],
    loads: Loads,
    policy: dict[str, float],
) -> LegPlan:
    origin_lineage = index.lineage(shipment.origin_id)
    county_lineage = index.lineage(shipment.origin_county_id) or origin_lineage
    destination_lineage = index.lineage(shipment.destination_id)
    county_id = county_lineage[0] if county_lineage else None
    serves: tuple[tuple[int, ...], ...]
    if kind == Leg.Kind.FIRST_MILE:
        plan = LegPlan(kind, shipment.origin_id, county_id)
        serves, price_to, cold = (origin_lineage,), county_lineage, False
    elif kind == Leg.Kind.HUB:
        plan = LegPlan(kind, county_id, county_id)
        serves, price_to, cold = (county_lineage,), county_lineage, shipment.needs_cold_chain
    else:
        plan = LegPlan(kind, county_id, shipment.destination_id)
        serves = (county_lineage, destination_lineage)
        price_to, cold = destination_lineage, shipment.needs_cold_chain
    if any(not lineage for lineage in serves):
        plan.candidates.append(
            Candidate(partner_id=0, partner="-", excluded="the address is not in the region tree")
        )
        return plan
    _evaluate(
        plan=plan,
        index=index,
        needs=LegNeeds(serves, price_to, cold),
        shipment=shipment,
        refused=refused,
        loads=loads,
        policy=policy,
    )
    return plan


def _best(plan: LegPlan, forced: int | None) -> Candidate | None:
    """The best eligible candidate of ``plan`` (the ``forced`` partner's only)."""
    eligible = [c for c in plan.candidates if not c.excluded and (forced is None or c.partner_id == forced)]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (c.score, c.partner))


def _order_plan(
    *,
    shipment: Shipment,
    index: RoutingIndex,
    loads: Loads,
    refused: dict[str, set[int]],
    forced: dict[str, int],
    policy: dict[str, float],
) -> OrderPlan:
    """Plan every leg of one order on the batch's loads, taking a slot per leg; an order that finds no
    partner for a leg gives its slots back and records why."""
    plans: list[LegPlan] = []
    chosen: list[Candidate] = []
    missing = ""
    for kind in _leg_kinds(shipment):
        plan = _leg_plan(
            kind=kind,
            shipment=shipment,
            index=index,
            refused=refused.get(kind, set()),
            loads=loads,
            policy=policy,
        )
        plans.append(plan)
        candidate = _best(plan, forced.get(kind))
        if candidate is None:
            missing = f"no partner for the {kind} leg: " + (
                "; ".join(f"{c.partner}: {c.excluded}" for c in plan.candidates)
                or f"no partner of kind {', '.join(LEG_PARTNER_KINDS[kind])}"
            )
            break
        plan.chosen = candidate.partner_id
        chosen.append(candidate)
        slot = (candidate.partner_id, shipment.day)
        loads.booked[slot] = loads.booked.get(slot, 0) + 1
    if missing:
        for candidate in chosen:
            loads.booked[(candidate.partner_id, shipment.day)] -= 1
        chosen = []
    return OrderPlan(shipment=shipment, plans=plans, chosen=chosen, missing=missing)


def _candidate_record(c: Candidate) -> dict[str, Any]:
    return {
        "partner_id": c.partner_id,
        "partner": c.partner,
        "excluded": c.excluded,
        "cost": c.cost,
        "days": c.days,
        "load": c.load,
        "score": c.score,
    }


def _leg_record(plan: LegPlan) -> dict[str, Any]:
    """One leg of the record: the eligible candidates in full (cost, days, load, score), the excluded ones
    by reason (their codes). Every candidate is there; grouping the excluded (most of the partners of a
    kind, mostly for one reason: they serve elsewhere) keeps the record a few hundred bytes a leg instead of
    one object per partner in the country, which PostgreSQL's jsonb paid for on every consignment."""
    excluded: dict[str, list[str]] = {}
    for c in plan.candidates:
        if c.excluded:
            excluded.setdefault(c.excluded, []).append(c.partner)
    return {
        "kind": plan.kind,
        "origin_id": plan.origin_id,
        "destination_id": plan.destination_id,
        "candidates": [_candidate_record(c) for c in plan.candidates if not c.excluded],
        "excluded": excluded,
        "chosen": plan.chosen,
    }


def decision_reasons(leg: dict[str, Any]) -> dict[str, str]:
    """A recorded leg's candidates by code → what excluded each ("" for the eligible), from either shape
    of the record (every candidate as an object, as written before batches, or the excluded by reason)."""
    reasons = {c["partner"]: c["excluded"] for c in leg["candidates"]}
    for reason, codes in leg.get("excluded", {}).items():
        reasons.update(dict.fromkeys(codes, reason))
    return reasons


def _decision(
    plans: list[LegPlan], *, by: str, outcome: str, at: str, policy: dict[str, float]
) -> dict[str, Any]:
    """The decision record: every candidate of every leg planned, with what excluded it or its score."""
    return {
        "at": at,
        "by": by,
        "outcome": outcome,
        "policy": policy,
        "legs": [_leg_record(plan) for plan in plans],
    }


# --- day loads ----------------------------------------------------------------------------------


def _loads_read(days: Iterable[datetime.date]) -> dict[Slot, int]:
    return {
        (partner_id, day): booked
        for partner_id, day, booked in PartnerDayLoad.objects.filter(day__in=set(days)).values_list(
            "partner_id", "day", "booked"
        )
    }


def day_loads_book(*, wanted: dict[Slot, int]) -> set[Slot]:
    """Take ``n`` more parcels of each (partner, day) in one statement, each only if the day stays within
    the partner's ``daily_capacity`` (read in the same statement); returns the slots taken. Rows are locked
    in (partner, day) order (``marketplace/locks.py``), so two batches never wait on each other in a circle.
    A slot refused is left as it was (and, on PostgreSQL, its row locked until the transaction ends)."""
    slots = sorted((slot, n) for slot, n in wanted.items() if n > 0)
    if not slots:
        return set()
    quote = connection.ops.quote_name
    loads = quote(PartnerDayLoad._meta.db_table)
    partners = quote(LogisticsPartner._meta.db_table)
    # PostgreSQL types the VALUES from the casts; SQLite needs none.
    row = "(%s::integer, %s::date, %s::integer)" if connection.vendor == "postgresql" else "(%s, %s, %s)"
    params: list[Any] = []
    for (partner_id, day), n in slots:
        params += [partner_id, connection.ops.adapt_datefield_value(day), n]
    # An upsert: a new (partner, day) row is inserted only if n fits; an existing one is raised only if
    # booked + n fits. A conflicting row that does not fit is not changed and not returned.
    sql = (
        f"WITH wanted (partner_id, day, n) AS (VALUES {', '.join([row] * len(slots))}) "  # noqa: S608
        f"INSERT INTO {loads} (partner_id, day, booked) "
        f"SELECT w.partner_id, w.day, w.n FROM wanted w JOIN {partners} p ON p.id = w.partner_id "
        "WHERE w.n <= p.daily_capacity ORDER BY w.partner_id, w.day "
        f"ON CONFLICT (partner_id, day) DO UPDATE SET booked = {loads}.booked + excluded.booked "
        f"WHERE {loads}.booked + excluded.booked <= "
        f"(SELECT c.daily_capacity FROM {partners} c WHERE c.id = excluded.partner_id) "
        "RETURNING partner_id, day"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        taken = cursor.fetchall()
    return {(partner_id, _as_date(day)) for partner_id, day in taken}


def _as_date(value: datetime.date | str) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _loads_learn(loads: Loads, refused: set[Slot]) -> None:
    """A booking was refused: read those partners' real loads and capacities (another router, or a
    capacity changed since the index was built)."""
    loads.contended |= refused
    condition = Q()
    for partner_id, day in refused:
        condition |= Q(partner_id=partner_id, day=day)
    known = dict.fromkeys(refused, 0)
    known.update(
        {
            (partner_id, day): booked
            for partner_id, day, booked in PartnerDayLoad.objects.filter(condition).values_list(
                "partner_id", "day", "booked"
            )
        }
    )
    loads.booked.update(known)
    loads.capacity.update(
        LogisticsPartner.objects.filter(pk__in={partner_id for partner_id, _day in refused}).values_list(
            "pk", "daily_capacity"
        )
    )


def capacity_book(*, partner_id: int, day: datetime.date) -> bool:
    """Take one parcel slot of the partner on ``day``; False (nothing taken) when it is full."""
    return bool(day_loads_book(wanted={(partner_id, day): 1}))


def capacity_release(*, partner_id: int, day: datetime.date) -> None:
    PartnerDayLoad.objects.filter(partner_id=partner_id, day=day, booked__gt=0).update(booked=F("booked") - 1)


# --- routing a batch ----------------------------------------------------------------------------


def _plan_and_book(
    *,
    rows: list[ShopOrderRow],
    index: RoutingIndex,
    refused: dict[int, dict[str, set[int]]],
    forced: dict[str, int],
    policy: dict[str, float],
) -> dict[int, OrderPlan]:
    """Plan the batch on the day loads read now and book its slots; when a booking is refused (taken
    meanwhile), undo the round, learn the real loads and plan again."""
    loads = Loads(booked=_loads_read(row.shipment.day for row in rows))
    for _round in range(BOOKING_ROUNDS):
        start = dict(loads.booked)
        plans = {
            row.pk: _order_plan(
                shipment=row.shipment,
                index=index,
                loads=loads,
                refused=refused.get(row.pk, {}),
                forced=forced,
                policy=policy,
            )
            for row in rows
        }
        wanted: Counter[Slot] = Counter()
        for plan in plans.values():
            for candidate in plan.chosen:
                wanted[(candidate.partner_id, plan.shipment.day)] += 1
        if not wanted:
            return plans
        sid = transaction.savepoint()
        taken = day_loads_book(wanted=wanted)
        if len(taken) == len(wanted):
            transaction.savepoint_commit(sid)
            return plans
        # Undoing the round also lets go of the rows it locked, so the next round again takes its locks
        # in (partner, day) order from none held.
        transaction.savepoint_rollback(sid)
        loads.booked = start
        _loads_learn(loads, set(wanted) - taken)
    raise RoutingError(f"the day loads kept changing under {BOOKING_ROUNDS} booking rounds; route again")


def _refused_read(consignment_ids: list[int]) -> dict[int, dict[str, set[int]]]:
    """Per consignment, the partners that refused each kind of leg (never offered that leg again)."""
    refused: dict[int, dict[str, set[int]]] = {}
    if consignment_ids:
        for consignment_id, kind, partner_id in (
            Leg.objects.filter(consignment_id__in=consignment_ids, status=Leg.Status.REJECTED)
            .exclude(reject_reason=RE_ROUTING)
            .values_list("consignment_id", "kind", "partner_id")
        ):
            refused.setdefault(consignment_id, {}).setdefault(kind, set()).add(partner_id)
    return refused


def _route(
    *,
    shop_order_ids: Sequence[int],
    forced: dict[str, int] | None = None,
    actor: AbstractBaseUser | None = None,
) -> BatchResult:
    result = BatchResult()
    policy = _policy()
    with transaction.atomic():
        rows, index = shipments_read(shop_order_ids=shop_order_ids, lock=True)
        existing = {
            consignment.shop_order_id: consignment
            for consignment in Consignment.objects.filter(shop_order_id__in=list(rows))
        }
        to_route: list[ShopOrderRow] = []
        seen: set[int] = set()
        for pk in shop_order_ids:
            row = rows.get(pk)
            if row is None:
                result.skipped[pk] = "no such shop order"
                continue
            found = existing.get(pk)
            if found is not None and found.status != Consignment.Status.NEEDS_ROUTING:
                result.consignments[pk] = found  # routed once, and only once
            elif row.status not in ROUTABLE:
                result.skipped[pk] = f"shop order {row.number} is {row.status}, not ready for routing"
            elif pk not in seen:
                seen.add(pk)
                to_route.append(row)
        if not to_route:
            return result
        waiting = {pk: c for pk, c in existing.items() if c.status == Consignment.Status.NEEDS_ROUTING}
        by_consignment = _refused_read([c.pk for c in waiting.values()])
        refused = {pk: by_consignment.get(c.pk, {}) for pk, c in waiting.items()}
        plans = _plan_and_book(
            rows=to_route, index=index, refused=refused, forced=forced or {}, policy=policy
        )
        _consignments_write(
            rows=to_route, plans=plans, waiting=waiting, result=result, actor=actor, policy=policy
        )
    return result


def _consignments_write(
    *,
    rows: list[ShopOrderRow],
    plans: dict[int, OrderPlan],
    waiting: dict[int, Consignment],
    result: BatchResult,
    actor: AbstractBaseUser | None,
    policy: dict[str, float],
) -> None:
    """Write the batch's outcome: new consignments, their events and legs in bulk; the consignments that
    needed routing moved one by one (their status machine's move); the needs-routing alerts."""
    by = f"user {actor.pk}" if actor is not None else "routing"
    at = timezone.now().isoformat()
    new: list[tuple[Consignment, OrderPlan]] = []
    for row in rows:
        plan = plans[row.pk]
        shipment = plan.shipment
        consignment = waiting.get(row.pk) or Consignment(shop_order_id=row.pk)
        consignment.planned_for = shipment.day
        consignment.needs_cold_chain = shipment.needs_cold_chain
        consignment.weight_g = shipment.weight_g
        consignment.origin_id = shipment.origin_id
        consignment.destination_id = shipment.destination_id
        outcome = "needs routing" if plan.missing else "routed"
        consignment.reason = plan.missing
        consignment.decisions = [
            *consignment.decisions,
            _decision(plan.plans, by=by, outcome=outcome, at=at, policy=policy),
        ]
        if consignment.pk is None:
            new.append((consignment, plan))
        elif plan.missing:  # it needed routing and still does: a new attempt, not a move
            consignment.save()
        else:
            consignment.save()
            consignment_move(
                consignment=consignment, to_status=Consignment.Status.ROUTED, actor=actor, reason=by
            )
        result.consignments[row.pk] = consignment

    consignments_create(
        moves=[
            (c, Consignment.Status.NEEDS_ROUTING if p.missing else Consignment.Status.ROUTED, p.missing or by)
            for c, p in new
        ],
        actor=actor,
    )
    now = timezone.now()
    legs = rows_insert(
        model=Leg,
        names=["consignment", "sequence", "kind", "partner", "status", "day", "cost", "promised_days"]
        + ["reject_reason", "overdue_since", "created_at"],
        rows=[
            (
                result.consignments[pk].pk,
                sequence,
                leg.kind,
                candidate.partner_id,
                Leg.Status.ASSIGNED,
                plan.shipment.day,
                Decimal(candidate.cost or "0"),
                candidate.days or 0,
                "",
                None,
                now,
            )
            for pk, plan in plans.items()
            for sequence, (leg, candidate) in enumerate(zip(plan.plans, plan.chosen, strict=False), start=1)
        ],
        returning=("id", "partner_id"),
    )
    legs_created_emit(legs=legs)  # the partners' webhooks, in this transaction
    for pk, plan in plans.items():
        if plan.missing:
            _needs_routing_alert(result.consignments[pk])


def consignments_route_batch(*, shop_order_ids: Sequence[int]) -> BatchResult:
    """Route a batch of paid shop orders in one transaction (skipping those routed already and those not
    ready); see the module's docstring. Every order gets one consignment: routed, or needing routing with
    the reason."""
    return _route(shop_order_ids=shop_order_ids)


def consignment_route(
    *,
    shop_order_id: int,
    forced: dict[str, int] | None = None,
    actor: AbstractBaseUser | None = None,
) -> Consignment:
    """Plan (and book) the legs of a paid shop order: a batch of one. Idempotent: a routed consignment is
    returned as it is. ``forced`` (leg kind → partner id) is an association user's choice among the
    eligible candidates."""
    result = _route(shop_order_ids=[shop_order_id], forced=forced, actor=actor)
    if shop_order_id in result.consignments:
        return result.consignments[shop_order_id]
    reason = result.skipped[shop_order_id]
    if reason == "no such shop order":
        raise ShopOrder.DoesNotExist(reason)
    raise RoutingError(reason)


def consignment_candidates(*, shop_order_id: int) -> list[LegPlan]:
    """Each leg's candidates as routing would judge them now (nothing booked): what an association user
    chooses from when routing by hand."""
    rows, index = shipments_read(shop_order_ids=[shop_order_id])
    if shop_order_id not in rows:
        raise ShopOrder.DoesNotExist(shop_order_id)
    shipment = rows[shop_order_id].shipment
    loads = Loads(booked=_loads_read([shipment.day]))
    policy = _policy()
    return [
        _leg_plan(kind=kind, shipment=shipment, index=index, refused=set(), loads=loads, policy=policy)
        for kind in _leg_kinds(shipment)
    ]


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
        leg_move(leg=leg, to_status=Leg.Status.REJECTED, actor=actor, partner=partner, reason=reason)
        capacity_release(partner_id=leg.partner_id, day=leg.day)
        # Legs set aside to plan the whole consignment again were not refused by their partner.
        refused = set(
            Leg.objects.filter(consignment=consignment, kind=leg.kind, status=Leg.Status.REJECTED)
            .exclude(reject_reason=RE_ROUTING)
            .values_list("partner_id", flat=True)
        )
        rows, index = shipments_read(shop_order_ids=[consignment.shop_order_id])
        shipment = replace(rows[consignment.shop_order_id].shipment, day=leg.day)
        loads = Loads(booked=_loads_read([leg.day]))
        policy = _policy()
        plan = _leg_plan(
            kind=leg.kind, shipment=shipment, index=index, refused=refused, loads=loads, policy=policy
        )
        chosen = None
        for candidate in sorted(
            (c for c in plan.candidates if not c.excluded), key=lambda c: (c.score, c.partner)
        ):
            if capacity_book(partner_id=candidate.partner_id, day=leg.day):
                plan.chosen = candidate.partner_id
                chosen = candidate
                break
            candidate.excluded = f"full on {leg.day.isoformat()} (booked meanwhile)"
        if chosen is not None:
            replacement = Leg.objects.create(
                consignment=consignment,
                sequence=leg.sequence,
                kind=leg.kind,
                partner_id=chosen.partner_id,
                day=leg.day,
                cost=Decimal(chosen.cost or "0"),
                promised_days=chosen.days or 0,
            )
            legs_created_emit(legs=[(replacement.pk, replacement.partner_id)])
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
            _decision(
                [plan],
                by=f"partner {partner.code}",
                outcome=outcome,
                at=timezone.now().isoformat(),
                policy=policy,
            ),
        ]
        consignment.save(update_fields=["reason", "decisions", "updated_at"])
        outbox_emit(topic=LEG_REJECTED, key=str(leg.pk), payload={"leg_id": leg.pk})
    return consignment

"""Shop orders: splitting a buyer's order by shop, the one function that moves a shop order's status (an
allowed-transitions table, a row lock, an event per move), and the one "paid" action of an order.

Lock order of the paid-order flow: the buyer's order row (``order_lock``), then its payments, then its
shop orders in primary-key order, then stock records (``marketplace/partner/stock.py``)."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.ledger.services import ledger_sales_record
from marketplace.locks import for_update
from marketplace.order.models import ShopOrder, ShopOrderEvent
from marketplace.order.stock_holds import shop_orders_stock_requests
from marketplace.outbox.services import outbox_emit
from marketplace.partner.stock import stock_consume, stock_release
from marketplace.shipping.models import ShippingRule
from marketplace.shipping.parcels import parcel_line, shipping_quote

if TYPE_CHECKING:
    from oscar.apps.order.models import Line, Order
else:
    Order = get_model("order", "Order")

S = ShopOrder.Status

# Written to the outbox when an order is paid (key: the order's id); routing, the buyer's and the shops'
# notices and the sales facts subscribe to it. Payload: order_id, shop_order_ids, shop_ids, day (the
# Asia/Shanghai date it was paid, ISO).
ORDER_PAID = "order.paid"

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED},
    S.PAID: {S.ACCEPTED, S.CANCELLED},
    S.ACCEPTED: {S.PACKED, S.CANCELLED},
    S.PACKED: {S.HANDED_OVER, S.CANCELLED},
    S.HANDED_OVER: {S.IN_TRANSIT, S.DELIVERED},
    S.IN_TRANSIT: {S.DELIVERED},
    S.DELIVERED: {S.REFUNDED},
    S.CANCELLED: {S.REFUNDED},
    S.REFUNDED: set(),
}

# How far along each status is, for the buyer's order status derived from its shop orders.
PROGRESS: list[str] = [
    S.PENDING_PAYMENT,
    S.PAID,
    S.ACCEPTED,
    S.PACKED,
    S.HANDED_OVER,
    S.IN_TRANSIT,
    S.DELIVERED,
]


# The part of the path a paid shop order walks to its buyer.
DELIVERY_PATH: list[str] = PROGRESS[PROGRESS.index(S.PAID) :]


class ShopOrderTransitionError(ValueError):
    pass


@transaction.atomic
def shop_order_transition(
    *, shop_order_id: int, to_status: str, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ShopOrderEvent:
    """Move one shop order, the only way its status changes: the transitions table is checked, the row is
    locked, an event records who, when and why, and the rules of the move are applied with it: a part
    handed to logistics consumes the stock it holds (the boxes left the shop), a cancelled part releases
    it (the boxes go back on sale)."""
    shop_order = for_update(ShopOrder.objects.all()).get(pk=shop_order_id)
    if to_status not in ALLOWED_TRANSITIONS[shop_order.status]:
        raise ShopOrderTransitionError(
            _("A shop order cannot move from “%(from)s” to “%(to)s”.")
            % {"from": shop_order.get_status_display(), "to": S(to_status).label}
        )
    if to_status == S.CANCELLED and not reason.strip():
        raise ShopOrderTransitionError(_("Say why the shop order is cancelled."))
    event = ShopOrderEvent.objects.create(
        shop_order=shop_order,
        from_status=shop_order.status,
        to_status=to_status,
        # The project's user model is auth.User (no AUTH_USER_MODEL), so any signed-in actor is one; the
        # services take AbstractBaseUser because that is how django-stubs types `request.user`.
        actor=actor,  # type: ignore[misc]
        reason=reason,
    )
    shop_order.status = to_status
    update_fields = ["status"]
    if shop_order.stock_held and to_status in (S.HANDED_OVER, S.CANCELLED):
        requests = shop_orders_stock_requests([shop_order])
        # An unpaid part whose payment failed gave its stock back already (stock_held is false).
        if to_status == S.HANDED_OVER:
            stock_consume(requests=requests)
        else:
            stock_release(requests=requests)
        shop_order.stock_held = False
        update_fields.append("stock_held")
    shop_order.save(update_fields=update_fields)
    if to_status == S.PAID:
        ledger_sales_record(shop_orders=[shop_order], at=event.created_at)
    return event


@transaction.atomic
def shop_order_advance(
    *, shop_order_id: int, to_status: str, actor: AbstractBaseUser | None = None, reason: str = ""
) -> None:
    """Step a shop order along its delivery path (``PROGRESS``) up to ``to_status``, one allowed move at a
    time (a logistics partner reporting a delivery moves an accepted part through packed and handed over,
    consuming its stock on the way). A part already there or beyond, or off the path (cancelled, refunded,
    unpaid), is left alone."""
    target = PROGRESS.index(to_status)
    # Locked first, so a farmer pressing "hand over" or "cancel" meanwhile waits and then sees the move.
    status = for_update(ShopOrder.objects.all()).values_list("status", flat=True).get(pk=shop_order_id)
    while status in DELIVERY_PATH and PROGRESS.index(status) < target:
        status = max(
            (
                step
                for step in ALLOWED_TRANSITIONS[status]
                if step in DELIVERY_PATH and PROGRESS.index(step) <= target
            ),
            key=PROGRESS.index,
        )
        shop_order_transition(shop_order_id=shop_order_id, to_status=status, actor=actor, reason=reason)


def order_lock(*, order_id: int) -> None:
    """Lock the buyer's order row: the first lock of the paid-order flow (see the module docstring)."""
    for_update(Order.objects.all()).filter(pk=order_id).values_list("pk", flat=True).first()


@transaction.atomic(savepoint=False)
def order_paid(*, order_id: int, reason: str) -> list[ShopOrderEvent]:
    """The buyer's payment for the order succeeded: every part still awaiting payment moves to paid (an
    event each), and the work a sale implies is written to the outbox in this same transaction. Calling it
    again changes nothing. The caller holds the order's lock (``order_lock``)."""
    unpaid = list(
        for_update(ShopOrder.objects.all())
        .filter(order_id=order_id, status=S.PENDING_PAYMENT)
        .order_by("pk")
        .only("pk", "shop_id", "status", "lines_total", "shipping_charge")
    )
    if not unpaid:
        return []
    events = ShopOrderEvent.objects.bulk_create(
        [
            ShopOrderEvent(shop_order=part, from_status=S.PENDING_PAYMENT, to_status=S.PAID, reason=reason)
            for part in unpaid
        ]
    )
    ShopOrder.objects.filter(pk__in=[part.pk for part in unpaid]).update(status=S.PAID)
    ledger_sales_record(shop_orders=unpaid, at=events[0].created_at)
    outbox_emit(
        topic=ORDER_PAID,
        key=str(order_id),
        payload={
            "order_id": order_id,
            "shop_order_ids": [part.pk for part in unpaid],
            "shop_ids": sorted({part.shop_id for part in unpaid}),
            "day": timezone.localdate(events[0].created_at).isoformat(),
        },
    )
    return events


def order_status_derived(statuses: Iterable[str]) -> str:
    """The buyer's order status from its shop orders: the least advanced live part decides; an order
    whose parts are all cancelled (or refunded) is cancelled (or refunded)."""
    statuses = list(statuses)
    if not statuses:
        return S.PENDING_PAYMENT
    live = [s for s in statuses if s not in (S.CANCELLED, S.REFUNDED)]
    if live:
        return min(live, key=PROGRESS.index)
    return S.REFUNDED if all(s == S.REFUNDED for s in statuses) else S.CANCELLED


@transaction.atomic(savepoint=False)  # one with the order it splits: no savepoint of its own
def shop_orders_create(
    *, order: Order, rules: Mapping[int, ShippingRule | None] | None = None
) -> list[ShopOrder]:
    """One shop order per shop in ``order`` (Oscar order lines grouped by partner), each with its
    lines' total and the shop's shipping charge. ``rules``: the shops' shipping rules (shop id → rule,
    None for the default) as the order's total was worked out with them (the checkout's), so the shop
    orders charge the same; a shop not in it has its rule read. Idempotent: an order already split is
    returned as is."""
    existing = list(ShopOrder.objects.filter(order=order))
    if existing:
        return existing
    by_shop: dict[int, list[Line]] = defaultdict(list)
    for line in order.lines.select_related("product", "partner").order_by("partner_id", "pk"):
        if line.partner_id is None:
            raise ValueError(f"order {order.number} line {line.pk} has no shop")
        by_shop[line.partner_id].append(line)
    rules = dict(rules or {})
    unread = [shop_id for shop_id in by_shop if shop_id not in rules]
    if unread:
        rules.update(dict.fromkeys(unread))
        rules.update({rule.shop_id: rule for rule in ShippingRule.objects.filter(shop_id__in=unread)})
    shop_orders: list[ShopOrder] = []
    for index, (shop_id, lines) in enumerate(sorted(by_shop.items()), start=1):
        parcel = [parcel_line(line) for line in lines]
        quote = shipping_quote(rule=rules.get(shop_id), lines=parcel)
        presale_dates = [
            line.product.presale_ship_from
            for line in lines
            if getattr(line.product, "presale_ship_from", None) and line.product.is_presale()
        ]
        shop_order = ShopOrder(
            order=order,
            shop_id=shop_id,
            number=f"{order.number}-{index:02d}",
            lines_total=sum((line.line_price_incl_tax for line in lines), Decimal("0")),
            shipping_charge=quote.charge,
            currency=order.currency,
            needs_cold_chain=quote.cold_chain,
            ships_on=max(presale_dates) if presale_dates else timezone.localdate(),
        )
        shop_orders.append(shop_order)
    ShopOrder.objects.bulk_create(shop_orders)  # one INSERT, the ids read back (PostgreSQL, SQLite ≥ 3.35)
    ShopOrderEvent.objects.bulk_create(
        [ShopOrderEvent(shop_order=so, to_status=so.status, reason="placed") for so in shop_orders]
    )
    return shop_orders

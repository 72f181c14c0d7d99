"""What logistics does when the outbox says so: route a paid order's parcels, call them off when the shop
order is cancelled, send its notices, tell the association of a broken cold chain, and deliver the
partners' webhooks."""

import logging
from typing import Any

from logistics import notifications, webhooks
from logistics.cancellation import consignment_cancel
from logistics.coldchain import COLD_CHAIN_BREACH
from logistics.routing import LEG_REJECTED, NEEDS_ROUTING, consignments_route_batch
from logistics.tracking import TRACKING_RECORDED
from marketplace.order.cancellation import PAID_SHOP_ORDER_CANCELLED
from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe

logger = logging.getLogger(__name__)


def paid_order_route(key: str, payload: dict[str, Any]) -> None:
    """Route the paid shop orders of the order as one batch (a second run finds them routed and changes
    nothing)."""
    paid_orders_route([(key, payload)])


def paid_orders_route(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Route the paid shop orders of several orders as one batch."""
    result = consignments_route_batch(
        shop_order_ids=[pk for _key, payload in events for pk in payload["shop_order_ids"]]
    )
    for shop_order_id, reason in result.skipped.items():  # cancelled meanwhile: nothing to route
        logger.info("not routing shop order %s: %s", shop_order_id, reason)


# The order's shop orders are routed in one transaction: their day loads are booked by one statement in
# (partner, day) order, so two orders' batches never hold one partner's day while waiting for another's
# (which deadlocked when each shop order booked its legs one by one in its own order).
subscribe(
    topic=ORDER_PAID,
    name="logistics.route_paid_order",
    run=paid_order_route,
    run_many=paid_orders_route,
    atomic=False,
)
# A paid shop order cancelled before it left: its legs are called off (written in the cancel's transaction,
# so a broker or worker down meanwhile delays it and loses nothing).
subscribe(
    topic=PAID_SHOP_ORDER_CANCELLED,
    name="logistics.cancelled_order_call_off",
    run=lambda key, payload: consignment_cancel(shop_order_id=payload["shop_order_id"]),
)
subscribe(
    topic=NEEDS_ROUTING,
    name="logistics.needs_routing_notify",
    run=lambda key, payload: notifications.needs_routing_notify(consignment_id=payload["consignment_id"]),
)
subscribe(
    topic=LEG_REJECTED,
    name="logistics.leg_rejected_notify",
    run=lambda key, payload: notifications.leg_rejected_notify(leg_id=payload["leg_id"]),
)
subscribe(
    topic=TRACKING_RECORDED,
    name="logistics.tracking_notify",
    run=lambda key, payload: notifications.tracking_notify(event_id=payload["event_id"]),
)
subscribe(
    topic=COLD_CHAIN_BREACH,
    name="logistics.cold_chain_breach_notify",
    run=lambda key, payload: notifications.cold_chain_breach_notify(
        leg_id=payload["leg_id"], celsius=payload["celsius"], measured_at=payload["measured_at"]
    ),
)
# A leg made or moved: its partner's delivery (written once, with its send row, in the outbox's transaction).
subscribe(
    topic=webhooks.LEG_CHANGED,
    name="logistics.webhook_delivery_create",
    run=lambda key, payload: webhooks.webhook_delivery_create(
        key=key, event=payload["event"], leg_id=payload["leg_id"], leg_event_id=payload.get("leg_event_id")
    ),
)
# The POST itself talks to the partner: outside any transaction, idempotent by its claim and status.
subscribe(
    topic=webhooks.WEBHOOK_SEND,
    name="logistics.webhook_send",
    run=lambda key, payload: webhooks.webhook_delivery_send(delivery_id=payload["delivery_id"]),
    atomic=False,
)

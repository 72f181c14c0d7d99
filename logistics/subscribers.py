"""What logistics does when the outbox says so: route a paid order's parcels, and send its notices."""

import logging
from typing import Any

from logistics import notifications
from logistics.routing import LEG_REJECTED, NEEDS_ROUTING, RoutingError, consignment_route
from logistics.tracking import TRACKING_RECORDED
from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe

logger = logging.getLogger(__name__)


def paid_order_route(key: str, payload: dict[str, Any]) -> None:
    """Route each paid shop order of the order (a second run finds them routed and changes nothing)."""
    for shop_order_id in payload["shop_order_ids"]:
        try:
            consignment_route(shop_order_id=shop_order_id)
        except RoutingError as error:  # cancelled meanwhile: nothing to route
            logger.info("not routing shop order %s: %s", shop_order_id, error)


# Each shop order is routed in a transaction of its own (routing is idempotent): booking two shop orders'
# legs in one transaction would hold one partner's day load while waiting for another's, and two orders
# doing that in opposite orders deadlock.
subscribe(topic=ORDER_PAID, name="logistics.route_paid_order", run=paid_order_route, atomic=False)
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

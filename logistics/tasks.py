"""Logistics Celery tasks: thin, idempotent, enqueued on commit."""

import logging

from celery import shared_task

from logistics import notifications
from logistics.operations import consignments_stuck_route, day_loads_forget, legs_overdue_flag
from logistics.routing import RoutingError, consignment_route

logger = logging.getLogger(__name__)


@shared_task(
    name="logistics.consignment_route",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(ConnectionError,),
    max_retries=5,
)
def consignment_route_task(shop_order_id: int) -> str:
    """Route a paid shop order (a second run finds it routed and changes nothing)."""
    try:
        return consignment_route(shop_order_id=shop_order_id).status
    except RoutingError as error:  # cancelled meanwhile, or not paid: nothing to route
        logger.info("not routing shop order %s: %s", shop_order_id, error)
        return "skipped"


@shared_task(name="logistics.needs_routing_alert", autoretry_for=(ConnectionError, OSError), max_retries=5)
def needs_routing_alert_task(consignment_id: int) -> None:
    notifications.needs_routing_notify(consignment_id=consignment_id)


@shared_task(name="logistics.leg_rejected_notify", autoretry_for=(ConnectionError, OSError), max_retries=5)
def leg_rejected_notify_task(leg_id: int) -> None:
    notifications.leg_rejected_notify(leg_id=leg_id)


@shared_task(name="logistics.tracking_notify", autoretry_for=(ConnectionError, OSError), max_retries=5)
def tracking_notify_task(event_id: int) -> None:
    notifications.tracking_notify(event_id=event_id)


@shared_task(name="logistics.consignments_stuck_route")
def consignments_stuck_route_task() -> dict:
    return consignments_stuck_route()


@shared_task(name="logistics.legs_overdue_flag")
def legs_overdue_flag_task() -> int:
    return legs_overdue_flag()


@shared_task(name="logistics.day_loads_forget")
def day_loads_forget_task() -> int:
    return day_loads_forget()

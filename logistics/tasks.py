"""Logistics Celery tasks: thin and idempotent (acked late, requeued on worker loss: settings)."""

import logging

from celery import shared_task

from logistics.operations import consignments_stuck_route, day_loads_forget, legs_overdue_flag
from logistics.routing import RoutingError, consignment_route

logger = logging.getLogger(__name__)


@shared_task(name="logistics.consignment_route")
def consignment_route_task(shop_order_id: int) -> str:
    """Route a paid shop order (a second run finds it routed and changes nothing)."""
    try:
        return consignment_route(shop_order_id=shop_order_id).status
    except RoutingError as error:  # cancelled meanwhile, or not paid: nothing to route
        logger.info("not routing shop order %s: %s", shop_order_id, error)
        return "skipped"


@shared_task(name="logistics.consignments_stuck_route")
def consignments_stuck_route_task() -> dict:
    return consignments_stuck_route()


@shared_task(name="logistics.legs_overdue_flag")
def legs_overdue_flag_task() -> int:
    return legs_overdue_flag()


@shared_task(name="logistics.day_loads_forget")
def day_loads_forget_task() -> int:
    return day_loads_forget()

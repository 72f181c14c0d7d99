"""Keeping logistics moving: re-route what is stuck, flag legs with no news past their promise, forget
old day loads (each day's capacity starts empty: loads are kept per day)."""

import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from logistics.models import Consignment, Leg, PartnerDayLoad, TrackingEvent
from logistics.routing import RoutingError, consignment_route
from marketplace.order.models import ShopOrder

ROUTABLE = (ShopOrder.Status.PAID, ShopOrder.Status.ACCEPTED, ShopOrder.Status.PACKED)


def leg_due(day: datetime.date, promised_days: int) -> datetime.date:
    """The last day a leg booked for ``day`` is on time: its promised days, and at least one."""
    return day + datetime.timedelta(days=max(promised_days, 1))


def consignments_stuck_route() -> dict[str, int]:
    """Route paid shop orders that have no consignment (a lost task) and those that need routing. Returns
    how many ended in each status."""
    outcome: dict[str, int] = {}
    unrouted = ShopOrder.objects.filter(status__in=ROUTABLE).filter(
        Exists(Consignment.objects.filter(shop_order=OuterRef("pk"), status=Consignment.Status.NEEDS_ROUTING))
        | ~Exists(Consignment.objects.filter(shop_order=OuterRef("pk")))
    )
    partners_cache: dict = {}
    for shop_order_id in unrouted.order_by("pk").values_list("pk", flat=True):
        try:
            status = consignment_route(shop_order_id=shop_order_id, partners_cache=partners_cache).status
        except RoutingError:
            status = "skipped"
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def legs_overdue_flag(*, now: datetime.datetime | None = None) -> int:
    """Flag live legs with no tracking event although their promised day has passed. Returns how many
    were newly flagged."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    flagged = 0
    live = Leg.objects.filter(
        status__in=(Leg.Status.ASSIGNED, Leg.Status.ACCEPTED, Leg.Status.IN_PROGRESS), overdue_since=None
    ).exclude(Exists(TrackingEvent.objects.filter(leg=OuterRef("pk"), kind=TrackingEvent.Kind.DELIVERED)))
    for leg in live.only("pk", "day", "promised_days"):
        if leg_due(leg.day, leg.promised_days) < today:
            flagged += Leg.objects.filter(pk=leg.pk, overdue_since=None).update(overdue_since=now)
    return flagged


def day_loads_forget(*, older_than_days: int = 60) -> int:
    cutoff = timezone.localdate() - datetime.timedelta(days=older_than_days)
    deleted, _ = PartnerDayLoad.objects.filter(day__lt=cutoff).delete()
    return deleted

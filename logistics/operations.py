"""Keeping logistics moving: re-route what is stuck, flag legs with no news past their promise, forget
old day loads (each day's capacity starts empty: loads are kept per day)."""

import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from logistics.models import Consignment, Leg, PartnerDayLoad, TrackingEvent
from logistics.routing import consignments_route_batch
from marketplace.order.models import ShopOrder

ROUTABLE = (ShopOrder.Status.PAID, ShopOrder.Status.ACCEPTED, ShopOrder.Status.PACKED)


def leg_due(day: datetime.date, promised_days: int) -> datetime.date:
    """The last day a leg booked for ``day`` is on time: its promised days, and at least one."""
    return day + datetime.timedelta(days=max(promised_days, 1))


# Shop orders routed per transaction by the stuck-orders run: large enough to amortise the reads and the
# booking, small enough that a batch holds its shop orders' and day loads' locks for a fraction of a second.
STUCK_BATCH = 500


def consignments_stuck_route(*, batch_size: int = STUCK_BATCH) -> dict[str, int]:
    """Route paid shop orders that have no consignment (a lost task) and those that need routing, in
    batches. Returns how many ended in each status ("skipped": cancelled or unpaid meanwhile)."""
    outcome: dict[str, int] = {}
    unrouted = ShopOrder.objects.filter(status__in=ROUTABLE).filter(
        Exists(Consignment.objects.filter(shop_order=OuterRef("pk"), status=Consignment.Status.NEEDS_ROUTING))
        | ~Exists(Consignment.objects.filter(shop_order=OuterRef("pk")))
    )
    ids = list(unrouted.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        result = consignments_route_batch(shop_order_ids=ids[start : start + batch_size])
        for consignment in result.consignments.values():
            outcome[consignment.status] = outcome.get(consignment.status, 0) + 1
        if result.skipped:
            outcome["skipped"] = outcome.get("skipped", 0) + len(result.skipped)
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

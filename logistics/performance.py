"""Logistics performance beside the sales review: per logistics partner, the legs booked in a period, how
many were done on time, exceptions and rejections; and the parcels that need routing by hand now.

A leg is done when its partner reports it delivered, or when the next leg's partner reports anything
(the parcel was handed on). It is on time when done by the end of the day it was booked for plus its
promised days (at least one: the rule the overdue flag uses). Legs not done and not yet due are still
running and count neither way. Legs are few next to order lines (a handful per parcel), so they are read
directly, two queries per page."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone

from logistics.models import LEGS_OFF, Consignment, Leg, LogisticsPartner, TrackingEvent
from logistics.operations import leg_due
from marketplace.figures import percent_of
from marketplace.periods import Period


@dataclass
class PartnerPerformance:
    partner: LogisticsPartner
    legs: int = 0
    done_on_time: int = 0
    done_late: int = 0
    overdue: int = 0  # not done and past its due day
    running: int = 0  # not done, not yet due
    exceptions: int = 0  # legs with an exception reported
    rejected: int = 0

    @property
    def on_time_rate(self) -> Decimal | None:
        """Per cent of the legs due or done that were done on time (one decimal); None with none."""
        return percent_of(self.done_on_time, self.done_on_time + self.done_late + self.overdue)


def logistics_performance(*, period: Period, today: datetime.date | None = None) -> list[PartnerPerformance]:
    """One entry per partner with legs booked in ``period``, busiest first."""
    today = today or timezone.localdate()
    events = TrackingEvent.objects.filter(leg=OuterRef("pk"))
    handed_on = (
        TrackingEvent.objects.filter(
            leg__consignment_id=OuterRef("consignment_id"), leg__sequence__gt=OuterRef("sequence")
        )
        .exclude(leg__status__in=LEGS_OFF)
        .order_by()
        .values("leg__consignment_id")
        .annotate(first=Min("occurred_at"))
        .values("first")
    )
    legs = (
        Leg.objects.filter(day__gte=period.start, day__lte=period.end)
        .annotate(
            delivered_at=Subquery(
                events.filter(kind=TrackingEvent.Kind.DELIVERED)
                .order_by("occurred_at")
                .values("occurred_at")[:1]
            ),
            handed_on_at=Subquery(handed_on[:1]),
            had_exception=Exists(events.filter(kind=TrackingEvent.Kind.EXCEPTION)),
        )
        .values_list(
            "partner_id", "status", "day", "promised_days", "delivered_at", "handed_on_at", "had_exception"
        )
    )
    by_partner: dict[int, PartnerPerformance] = {}
    rows = list(legs)
    partners = LogisticsPartner.objects.in_bulk({row[0] for row in rows})
    for partner_id, status, day, promised_days, delivered_at, handed_on_at, had_exception in rows:
        entry = by_partner.setdefault(partner_id, PartnerPerformance(partners[partner_id]))
        if status == Leg.Status.REJECTED:
            entry.rejected += 1
            continue
        if status == Leg.Status.CANCELLED:  # its shop order was cancelled: no fault of the partner's
            continue
        entry.legs += 1
        entry.exceptions += bool(had_exception)
        done = [at for at in (delivered_at, handed_on_at) if at is not None]
        due = leg_due(day, promised_days)
        if done:
            if timezone.localdate(min(done)) <= due:
                entry.done_on_time += 1
            else:
                entry.done_late += 1
        elif due < today:
            entry.overdue += 1
        else:
            entry.running += 1
    return sorted(by_partner.values(), key=lambda e: (-e.legs, e.partner.code))


def consignments_needing_routing(*, limit: int = 50) -> QuerySet[Consignment]:
    """The parcels waiting for the association to route them by hand, oldest first."""
    return (
        Consignment.objects.filter(status=Consignment.Status.NEEDS_ROUTING)
        .select_related("shop_order__shop")
        .order_by("created_at", "pk")[:limit]
    )


def consignments_needing_routing_count() -> int:
    return Consignment.objects.filter(status=Consignment.Status.NEEDS_ROUTING).count()


COLD_CHAIN_BREACH_DAYS = 14


def legs_cold_chain_broken(*, days: int = COLD_CHAIN_BREACH_DAYS, limit: int = 50) -> QuerySet[Leg]:
    """Legs whose goods left their temperature band in the last ``days`` days, the latest first (the
    association is e-mailed at the first out-of-band reading; this is where it looks again)."""
    since = timezone.now() - datetime.timedelta(days=days)
    return (
        Leg.objects.filter(cold_chain_breach_at__gte=since)
        .select_related("partner", "consignment__shop_order__shop")
        .order_by("-cold_chain_breach_at", "-pk")[:limit]
    )


def legs_cold_chain_broken_count(*, days: int = COLD_CHAIN_BREACH_DAYS) -> int:
    return Leg.objects.filter(
        cold_chain_breach_at__gte=timezone.now() - datetime.timedelta(days=days)
    ).count()

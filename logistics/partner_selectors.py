"""Reads of a logistics partner's own legs, for the partner API and the partner portal: every lookup is
within one partner, and the related rows a page shows are loaded here, in a fixed number of queries."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery

from logistics.models import (
    Leg,
    LegTemperatureReading,
    LogisticsPartner,
    TrackingEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
)

# The legs a partner still has to act on, and the ones it has done, as the portal groups them.
PORTAL_GROUPS: dict[str, tuple[str, ...]] = {
    "to_accept": (Leg.Status.ASSIGNED,),
    "to_pick_up": (Leg.Status.ACCEPTED,),
    "in_progress": (Leg.Status.IN_PROGRESS, Leg.Status.EXCEPTION),
    "done": (Leg.Status.DELIVERED,),
}
PORTAL_DONE_SHOWN = 20


def _legs(partner: LogisticsPartner) -> QuerySet[Leg]:
    return (
        Leg.objects.filter(partner=partner)
        .select_related(
            "partner",
            "consignment__origin__parent",
            "consignment__destination__parent",
            "consignment__shop_order__shop__village",
            "consignment__shop_order__order__shipping_address",
        )
        .prefetch_related(Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "pk")))
    )


def partner_legs(*, partner: LogisticsPartner, statuses: list[str] | None = None) -> QuerySet[Leg]:
    """The partner's legs it has not rejected (optionally only some statuses), newest day first."""
    legs = _legs(partner).exclude(status=Leg.Status.REJECTED)
    if statuses:
        legs = legs.filter(status__in=statuses)
    return legs.order_by("-day", "-pk")


def partner_leg(*, partner: LogisticsPartner, leg_id: int) -> Leg:
    """One of the partner's legs, rejected ones too; another partner's raises ``Leg.DoesNotExist``."""
    return _legs(partner).get(pk=leg_id)


@dataclass(frozen=True)
class LegGroup:
    key: str
    legs: list[Leg]


def portal_leg_groups(*, partner: LogisticsPartner) -> list[LegGroup]:
    """The portal's home: legs to accept, to pick up, on the way (exceptions first), and the latest done."""
    groups = []
    for key, statuses in PORTAL_GROUPS.items():
        legs = (
            Leg.objects.filter(partner=partner, status__in=statuses)
            .select_related(
                "consignment__origin", "consignment__destination", "consignment__shop_order__shop"
            )
            .order_by("day", "pk")
        )
        if key == "in_progress":
            legs = legs.order_by("status", "day", "pk")  # "exception" sorts before "in_progress"
        if key == "done":
            legs = legs.order_by("-day", "-pk")[:PORTAL_DONE_SHOWN]
        groups.append(LegGroup(key=key, legs=list(legs)))
    return groups


def user_partners(user: User | AnonymousUser) -> list[LogisticsPartner]:
    """The logistics partners a signed-in user works for."""
    if not user.is_authenticated:
        return []
    return list(LogisticsPartner.objects.filter(users=user).order_by("code"))


WEBHOOK_DELIVERIES_SHOWN = 100


def partner_webhook_deliveries(*, partner: LogisticsPartner) -> list[WebhookDelivery]:
    """The partner's latest webhook deliveries, newest first, each with ``attempt_count`` and
    ``last_response_code`` (one query)."""
    last = WebhookDeliveryAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-sent_at", "-pk")
    return list(
        WebhookDelivery.objects.filter(partner=partner)
        .annotate(
            attempt_count=Count("attempts"),
            last_response_code=Subquery(last.values("response_code")[:1], output_field=IntegerField()),
        )
        .order_by("-created_at", "-pk")[:WEBHOOK_DELIVERIES_SHOWN]
    )


def partner_webhook_delivery(*, partner: LogisticsPartner, delivery_id: int) -> WebhookDelivery:
    """One of the partner's deliveries with its payload and attempts; another partner's raises
    ``WebhookDelivery.DoesNotExist``."""
    return (
        WebhookDelivery.objects.filter(partner=partner)
        .select_related("payload", "replay_of")
        .prefetch_related("attempts")
        .get(pk=delivery_id)
    )


def partner_leg_readings(*, leg: Leg) -> QuerySet[LegTemperatureReading]:
    """A leg's temperature readings in time order (the caller looked the leg up within its partner)."""
    return LegTemperatureReading.objects.filter(leg=leg).order_by("measured_at", "pk")

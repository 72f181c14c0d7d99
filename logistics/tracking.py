"""What the partners report about their legs: accepting a leg, and tracking events (picked up, at the hub,
departed, out for delivery, delivered, exception). A leg's status is derived from its events, and the shop
order and consignment follow through the one transition function; the buyer is told of each new event.
Rejecting a leg is ``logistics.routing.leg_reject`` (it re-routes)."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics.models import LEGS_OFF, Consignment, Leg, LogisticsPartner, TrackingEvent
from logistics.states import LEG_TRANSITIONS, consignment_move, leg_move
from marketplace.locks import for_update
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_advance
from marketplace.outbox.services import outbox_emit

# Written to the outbox when a tracking event is recorded (key: the event): the buyer is told.
TRACKING_RECORDED = "logistics.tracking_recorded"

K = TrackingEvent.Kind
S = ShopOrder.Status
# The part of a shop order's life logistics moves it along; cancelled, refunded or unpaid parts are off it.
# A partner's clock may run a little fast; an event further in the future than this is refused.
CLOCK_SKEW = datetime.timedelta(minutes=5)
# How long before its leg was assigned an event may say it happened: a day, for a logger or a partner's
# system set to the wrong time zone (UTC against Beijing time is 8 hours); anything earlier is refused.
EARLIEST_BEFORE_LEG = datetime.timedelta(days=1)
IDEMPOTENCY_KEY_MAX_CHARS = 128


class TrackingError(ValueError):
    """A report that cannot be recorded. ``field`` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def leg_accept(*, leg_id: int, partner: LogisticsPartner, actor: AbstractBaseUser | None = None) -> Leg:
    """The partner (through ``actor``, one of its portal users, or its API token) will carry this leg.
    Accepting an accepted leg again changes nothing. Another partner's leg raises ``Leg.DoesNotExist``."""
    with transaction.atomic():
        leg = for_update(Leg.objects.all()).get(pk=leg_id, partner=partner)
        if leg.status == Leg.Status.ACCEPTED:
            return leg
        if Leg.Status.ACCEPTED not in LEG_TRANSITIONS[leg.status]:
            raise TrackingError(
                _("Only a leg waiting for you can be accepted; this one is “%(status)s”.")
                % {"status": leg.get_status_display()}
            )
        leg_move(leg=leg, to_status=Leg.Status.ACCEPTED, actor=actor, partner=partner)
    return leg


def leg_status_derived(events: list[tuple[str, datetime.datetime, int]]) -> str | None:
    """A leg's status from its events (kind, occurred_at, pk) whatever order they arrived in: delivered
    is final; otherwise the latest event decides (an exception until a later event clears it). None
    without events."""
    if not events:
        return None
    if any(kind == K.DELIVERED for kind, _at, _pk in events):
        return Leg.Status.DELIVERED
    latest_kind = max(events, key=lambda event: (event[1], event[2]))[0]
    return Leg.Status.EXCEPTION if latest_kind == K.EXCEPTION else Leg.Status.IN_PROGRESS


def _validate(
    *, leg: Leg, kind: str, occurred_at: datetime.datetime, note: str, idempotency_key: str
) -> None:
    if kind not in K.values:
        raise TrackingError(_("Unknown event kind “%(kind)s”.") % {"kind": kind}, field="kind")
    if not idempotency_key or len(idempotency_key) > IDEMPOTENCY_KEY_MAX_CHARS:
        raise TrackingError(_("Give an idempotency key of 1 to 128 characters."), field="idempotency_key")
    if not isinstance(occurred_at, datetime.datetime) or timezone.is_naive(occurred_at):
        raise TrackingError(_("Give the time with its time zone."), field="occurred_at")
    if occurred_at > timezone.now() + CLOCK_SKEW:
        raise TrackingError(_("The event cannot be in the future."), field="occurred_at")
    if leg.created_at is not None and occurred_at < leg.created_at - EARLIEST_BEFORE_LEG:
        # A time long before the parcel was even given to this partner is a typo or a broken clock.
        raise TrackingError(
            _("The event cannot be before the leg was assigned (%(at)s).")
            % {"at": timezone.localtime(leg.created_at).isoformat(timespec="minutes")},
            field="occurred_at",
        )
    if kind == K.EXCEPTION and not note.strip():
        raise TrackingError(_("Say what went wrong."), field="note")


def tracking_event_record(
    *,
    leg: Leg,
    kind: str,
    occurred_at: datetime.datetime,
    note: str = "",
    idempotency_key: str,
    actor: AbstractBaseUser | None = None,
) -> tuple[TrackingEvent, bool]:
    """Record what happened to the parcel on ``leg`` (the caller has checked the leg is its partner's).
    Returns the event and whether it is new: the same idempotency key again returns the first event and
    changes nothing. ``actor``: the portal user who reported it, if one did."""
    note = note.strip()
    _validate(leg=leg, kind=kind, occurred_at=occurred_at, note=note, idempotency_key=idempotency_key)
    with transaction.atomic():
        # Shop order, consignment, then leg (marketplace.locks.LOCK_ORDER): the event may move the shop
        # order on, and routing and leg_reject lock in the same order. Holding the consignment serialises
        # the events of its legs, so "every leg delivered" is seen by exactly one of them.
        for_update(ShopOrder.objects.all()).filter(
            pk__in=Consignment.objects.filter(pk=leg.consignment_id).values("shop_order_id")
        ).values_list("pk", flat=True).first()
        consignment = for_update(Consignment.objects.all()).get(pk=leg.consignment_id)
        leg = for_update(Leg.objects.all()).select_related("partner").get(pk=leg.pk)
        if leg.status == Leg.Status.REJECTED:  # (a leg with events can no longer be rejected)
            raise TrackingError(_("This leg was rejected: it can have no tracking events."))
        if leg.status == Leg.Status.CANCELLED:
            raise TrackingError(_("This leg was called off (its order was cancelled): do not carry it."))
        try:
            with transaction.atomic():
                event = TrackingEvent.objects.create(
                    leg=leg, kind=kind, occurred_at=occurred_at, note=note, idempotency_key=idempotency_key
                )
        except IntegrityError:
            # The unique (leg, key) constraint: this report was recorded before, or by a concurrent request
            # a moment ago. The first one stands; nothing else changes.
            existing = TrackingEvent.objects.filter(leg=leg, idempotency_key=idempotency_key).first()
            if existing is None:
                raise
            return existing, False
        _leg_status_update(leg=leg, event=event, actor=actor)
        _shop_order_follow(consignment=consignment, leg=leg, event=event)
        outbox_emit(topic=TRACKING_RECORDED, key=str(event.pk), payload={"event_id": event.pk})
    return event, True


def _leg_status_update(*, leg: Leg, event: TrackingEvent, actor: AbstractBaseUser | None) -> None:
    status = leg_status_derived(list(leg.events.values_list("kind", "occurred_at", "pk")))
    if status is not None and status != leg.status:
        leg_move(leg=leg, to_status=status, actor=actor, partner=leg.partner, reason=event.label)


def _shop_order_follow(*, consignment: Consignment, leg: Leg, event: TrackingEvent) -> None:
    """Move the shop order (and the consignment) as far as the parcel has got. Any news of the parcel in
    a partner's hands means it has left the shop (handed over), even when the first leg's partner never
    reported the pick-up; news from the carrier means it is in transit; every live leg done means
    delivered."""
    if event.kind == K.EXCEPTION:
        return
    partner = leg.partner.display_name
    live = list(consignment.legs.exclude(status__in=LEGS_OFF).order_by("sequence", "pk"))
    if (
        consignment.status == Consignment.Status.ROUTED
        and any(other.kind == Leg.Kind.CARRIER for other in live)
        and all(other.status == Leg.Status.DELIVERED for other in live)
    ):
        reason = _("Delivered by %(partner)s") % {"partner": partner}
        consignment_move(
            consignment=consignment,
            to_status=Consignment.Status.DELIVERED,
            partner=leg.partner,
            reason=reason,
        )
        shop_order_advance(shop_order_id=consignment.shop_order_id, to_status=S.DELIVERED, reason=reason)
        return
    if leg.kind == Leg.Kind.CARRIER:
        shop_order_advance(
            shop_order_id=consignment.shop_order_id,
            to_status=S.IN_TRANSIT,
            reason=f"{event.get_kind_display()} · {partner}",
        )
        return
    shop_order_advance(
        shop_order_id=consignment.shop_order_id,
        to_status=S.HANDED_OVER,
        reason=_("Picked up by %(partner)s") % {"partner": partner},
    )

"""Emails about logistics: the association when a shop order needs routing by hand or a parcel left its
temperature band, a shop when a partner rejected its parcel's leg, the buyer when the parcel moves. Each
sent once (``notice_send_once``)."""

import hashlib

from django.utils.dateparse import parse_datetime

from logistics.coldchain import leg_band
from logistics.models import Consignment, Leg, TrackingEvent
from marketplace.outbox.notices import notice_send_once
from marketplace.roles import association_members


def _association_emails() -> list[str]:
    return list(association_members().values_list("email", flat=True))


def needs_routing_notify(*, consignment_id: int) -> bool:
    consignment = Consignment.objects.select_related("shop_order__shop").get(pk=consignment_id)
    return notice_send_once(
        kind="needs_routing",
        # Once per reason: the stuck-orders task re-routes every 15 minutes, and an unchanged reason is
        # no news to the association.
        key=f"{consignment.pk}-{hashlib.sha256(consignment.reason.encode()).hexdigest()[:16]}",
        recipients=_association_emails(),
        template="needs_routing",
        context={"consignment": consignment, "shop_order": consignment.shop_order},
    )


def leg_rejected_notify(*, leg_id: int) -> bool:
    leg = Leg.objects.select_related("partner", "consignment__shop_order__shop").get(pk=leg_id)
    shop_order = leg.consignment.shop_order
    return notice_send_once(
        kind="leg_rejected",
        key=str(leg.pk),
        recipients=list(shop_order.shop.users.values_list("email", flat=True)),
        template="leg_rejected",
        context={"leg": leg, "shop_order": shop_order, "consignment": leg.consignment},
    )


def tracking_notify(*, event_id: int) -> bool:
    event = TrackingEvent.objects.select_related(
        "leg__partner", "leg__consignment__shop_order__order__user"
    ).get(pk=event_id)
    order = event.leg.consignment.shop_order.order
    buyer = order.user.email if order.user_id else order.guest_email
    return notice_send_once(
        kind="tracking",
        key=str(event.pk),
        recipients=[buyer],
        template="tracking",
        context={"event": event, "shop_order": event.leg.consignment.shop_order, "order": order},
    )


def cold_chain_breach_notify(*, leg_id: int, celsius: str, measured_at: str) -> bool:
    """The first reading of a leg outside its goods' band (``logistics.coldchain``): once per leg."""
    leg = Leg.objects.select_related("partner", "consignment__shop_order__shop").get(pk=leg_id)
    return notice_send_once(
        kind="cold_chain_breach",
        key=str(leg.pk),
        recipients=_association_emails(),
        template="cold_chain_breach",
        context={
            "leg": leg,
            "shop_order": leg.consignment.shop_order,
            "celsius": celsius,
            "measured_at": parse_datetime(measured_at),
            "band": leg_band(leg),
        },
    )

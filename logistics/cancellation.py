"""A paid shop order cancelled before it left the shop (the farmer could not fulfil it, the association
cancelled it): its parcel will never exist, so the legs routed for it are called off. Each partner is told
through its webhook (the leg's move), its day slot is freed, and the portal and the API refuse to accept
the leg or record its tracking from then on."""

from django.db import transaction
from django.utils.translation import gettext as _

from logistics.models import LEGS_OFF, Consignment, Leg
from logistics.routing import capacity_release
from logistics.states import consignment_move, leg_move
from marketplace.locks import for_update
from marketplace.order.models import ShopOrder


def consignment_cancel(*, shop_order_id: int) -> Consignment | None:
    """Call off the consignment of a cancelled shop order. None when it was never routed (routing skips
    a cancelled shop order, so it never will be); a delivered or already cancelled consignment is left as
    it is, so a second run changes nothing."""
    reason = _("The shop order was cancelled.")
    with transaction.atomic():
        # Shop order, consignment, legs (marketplace.locks.LOCK_ORDER): routing holds the shop order while
        # it routes, so this either sees the consignment it made or runs first and routing then skips it.
        status = for_update(ShopOrder.objects.all()).values_list("status", flat=True).get(pk=shop_order_id)
        if status not in (ShopOrder.Status.CANCELLED, ShopOrder.Status.REFUNDED):
            return None
        consignment = for_update(Consignment.objects.all()).filter(shop_order_id=shop_order_id).first()
        if consignment is None or consignment.status in (
            Consignment.Status.DELIVERED,
            Consignment.Status.CANCELLED,
        ):
            return consignment
        live = (
            for_update(Leg.objects.all())
            .filter(consignment=consignment)
            .exclude(status__in=(*LEGS_OFF, Leg.Status.DELIVERED))
            .order_by("pk")
        )
        for leg in live:
            capacity_release(partner_id=leg.partner_id, day=leg.day)
            leg_move(leg=leg, to_status=Leg.Status.CANCELLED, reason=reason)
        consignment_move(consignment=consignment, to_status=Consignment.Status.CANCELLED, reason=reason)
    return consignment

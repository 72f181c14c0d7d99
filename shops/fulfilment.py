"""What a shop does with its paid shop orders: accept, pack (parcels and weight), hand to logistics, or
cancel with a reason (``marketplace.order.cancellation.shop_order_cancel``: the part refunded). Every move
goes through ``marketplace.order.shop_orders.shop_order_transition``, which checks the transitions table,
records the event and applies the move's stock rule."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition

S = ShopOrder.Status


def shop_order_accept(*, shop_order_id: int, actor: AbstractBaseUser | None = None) -> ShopOrder:
    shop_order_transition(shop_order_id=shop_order_id, to_status=S.ACCEPTED, actor=actor)
    return ShopOrder.objects.get(pk=shop_order_id)


def shop_order_pack(
    *, shop_order_id: int, parcel_count: int, parcel_weight_g: int, actor: AbstractBaseUser | None = None
) -> ShopOrder:
    if parcel_count < 1 or parcel_weight_g < 1:
        raise ValueError("a packed shop order has at least one parcel and some weight")
    with transaction.atomic():
        shop_order_transition(
            shop_order_id=shop_order_id,
            to_status=S.PACKED,
            actor=actor,
            reason=_("%(count)d parcel(s), %(kg)s kg")
            % {"count": parcel_count, "kg": f"{parcel_weight_g / 1000:.2f}"},
        )
        ShopOrder.objects.filter(pk=shop_order_id).update(
            parcel_count=parcel_count, parcel_weight_g=parcel_weight_g
        )
    return ShopOrder.objects.get(pk=shop_order_id)


def shop_order_hand_over(
    *, shop_order_id: int, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ShopOrder:
    """The parcels leave the shop: the move consumes the boxes' stock (``shop_order_transition``); a
    logistics partner reporting the pick-up makes the same move."""
    shop_order_transition(shop_order_id=shop_order_id, to_status=S.HANDED_OVER, actor=actor, reason=reason)
    return ShopOrder.objects.get(pk=shop_order_id)

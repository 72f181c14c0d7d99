"""What a shop does with its paid shop orders: accept, pack (parcels and weight), hand to logistics,
or cancel with a reason (``marketplace.checkout.cancellation.shop_order_cancel``: stock released,
the part refunded). Every move goes through
``shops.orders.shop_order_transition``, which checks the transitions table and records the event."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from marketplace.checkout.stock_holds import shop_orders_stock_requests
from marketplace.partner.stock import stock_consume
from shops.models import ShopOrder
from shops.orders import shop_order_transition

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
    """The parcels leave the shop: the boxes come off the shop's stock for good. (Also reached when a
    logistics partner reports the pick-up: ``logistics.tracking``, with a reason naming the partner.)"""
    with transaction.atomic():
        shop_order_transition(
            shop_order_id=shop_order_id, to_status=S.HANDED_OVER, actor=actor, reason=reason
        )
        shop_order = ShopOrder.objects.select_for_update().get(pk=shop_order_id)
        if shop_order.stock_held:
            stock_consume(requests=shop_orders_stock_requests([shop_order]))
            ShopOrder.objects.filter(pk=shop_order_id).update(stock_held=False)
    return ShopOrder.objects.get(pk=shop_order_id)

from collections.abc import Iterable

from django import template

from logistics.selectors import Tracking, shop_orders_tracking
from marketplace.order.models import ShopOrder

register = template.Library()


@register.simple_tag
def shop_order_tracking(shop_order: ShopOrder) -> Tracking | None:
    """The shop order's route and tracking events (``None`` before it is routed)."""
    return shop_orders_tracking([shop_order.pk]).get(shop_order.pk)


@register.simple_tag
def shop_orders_tracking_map(shop_orders: Iterable[ShopOrder]) -> dict[int, Tracking]:
    """Every listed shop order's tracking at once (three queries whatever the count), by shop order id:
    a page of several shop orders reads it once and picks each with ``tracking_of``."""
    return shop_orders_tracking([shop_order.pk for shop_order in shop_orders])


@register.filter
def tracking_of(tracking_map: dict[int, Tracking], shop_order: ShopOrder) -> Tracking | None:
    return tracking_map.get(shop_order.pk)

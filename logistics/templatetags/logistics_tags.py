from django import template

from logistics.selectors import shop_orders_tracking

register = template.Library()


@register.simple_tag
def shop_order_tracking(shop_order):
    """The shop order's route and tracking events (``None`` before it is routed)."""
    return shop_orders_tracking([shop_order.pk]).get(shop_order.pk)


@register.simple_tag
def shop_orders_tracking_map(shop_orders) -> dict:
    """Every listed shop order's tracking at once (three queries whatever the count), by shop order id:
    a page of several shop orders reads it once and picks each with ``tracking_of``."""
    return shop_orders_tracking([shop_order.pk for shop_order in shop_orders])


@register.filter
def tracking_of(tracking_map: dict, shop_order):
    return tracking_map.get(shop_order.pk)

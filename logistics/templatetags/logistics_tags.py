from django import template

from logistics.selectors import shop_orders_tracking

register = template.Library()


@register.simple_tag
def shop_order_tracking(shop_order):
    """The shop order's route and tracking events (``None`` before it is routed)."""
    return shop_orders_tracking([shop_order.pk]).get(shop_order.pk)

"""Reads of a buyer's orders that shape the account pages: each order loaded with what its page shows
(its lines for the item count, its shop orders and their shops for the status), so a page of orders runs
the same number of queries for one order or twenty."""

from django.db.models import Prefetch, prefetch_related_objects

from shops.models import ShopOrder


def buyer_orders_with_parts(orders) -> list:
    """``orders`` (one page of a buyer's order history) as a list, each order with its lines and its shop
    orders (with their shops) prefetched: the derived status (shops.orders.order_status_derived) and
    each shop's part read from memory."""
    orders = list(orders)
    prefetch_related_objects(
        orders, "lines", Prefetch("shop_orders", queryset=ShopOrder.objects.select_related("shop"))
    )
    return orders

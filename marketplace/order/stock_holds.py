"""Stock held by unpaid orders: held from placing while a payment is under way, given back at once when
a payment fails (the boxes go back on sale), taken again — race-safely — when the buyer tries another card."""

from collections.abc import Iterable

from django.db import transaction

from marketplace.locks import for_update
from marketplace.order.models import ShopOrder
from marketplace.partner.stock import StockRequest, stock_allocate, stock_release


def shop_orders_stock_requests(shop_orders: Iterable["ShopOrder"]) -> list[StockRequest]:
    """The stock a set of shop orders holds: one request per order line with a stock record."""
    return [
        StockRequest(line.stockrecord_id, line.quantity)
        for shop_order in shop_orders
        for line in shop_order.lines()
        if line.stockrecord_id is not None
    ]


@transaction.atomic
def order_stock_release(*, order_id: int) -> None:
    """Give back the stock of an order's unpaid parts (nothing if it holds none)."""
    held = list(
        for_update(ShopOrder.objects.all()).filter(
            order_id=order_id, status=ShopOrder.Status.PENDING_PAYMENT, stock_held=True
        )
    )
    if held:
        stock_release(requests=shop_orders_stock_requests(held))
        ShopOrder.objects.filter(pk__in=[so.pk for so in held]).update(stock_held=False)


@transaction.atomic
def order_stock_hold(*, order_id: int) -> None:
    """Take the stock of an order's unpaid parts again; raises ``SoldOut`` (nothing taken) if it is gone."""
    released = list(
        for_update(ShopOrder.objects.all()).filter(
            order_id=order_id, status=ShopOrder.Status.PENDING_PAYMENT, stock_held=False
        )
    )
    if released:
        stock_allocate(requests=shop_orders_stock_requests(released))
        ShopOrder.objects.filter(pk__in=[so.pk for so in released]).update(stock_held=True)

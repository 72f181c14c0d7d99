"""Reads of a buyer's orders that shape the account pages: each order loaded with what its page shows
(its lines for the item count, its shop orders and their shops for the status), so a page of orders runs
the same number of queries for one order or twenty."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Value, prefetch_related_objects
from django.shortcuts import get_object_or_404
from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder

if TYPE_CHECKING:
    from oscar.apps.order.models import Order
else:
    Order = get_model("order", "Order")
Line = get_model("order", "Line")
Product = get_model("catalogue", "Product")
ProductReview = get_model("reviews", "ProductReview")


def buyer_orders_with_parts(orders: Iterable["Order"]) -> list["Order"]:
    """``orders`` (one page of a buyer's order history) as a list, each order with its lines and its shop
    orders (with their shops) prefetched: the derived status
    (marketplace.order.shop_orders.order_status_derived) and
    each shop's part read from memory."""
    orders = list(orders)
    prefetch_related_objects(
        orders, "lines", Prefetch("shop_orders", queryset=ShopOrder.objects.select_related("shop"))
    )
    return orders


def buyer_order(*, user: AbstractBaseUser | AnonymousUser, number: str) -> "Order":
    """One of the buyer's orders (404 for anyone else's) with everything its page shows read at once: its
    shop orders with their shops and refunds, its lines with their products (and whether the buyer has
    reviewed each) and attributes. The page's query count is the same for one shop or six."""
    products = Product.objects.annotate(
        reviewed_by_viewer=Exists(ProductReview.objects.filter(product=OuterRef("pk"), user=user)),
        reviewed_viewer_id=Value(user.pk),
    )
    lines = Line.objects.prefetch_related(Prefetch("product", queryset=products), "attributes")
    shop_orders = ShopOrder.objects.select_related("shop").prefetch_related("refunds")
    orders = Order.objects.filter(user=user).prefetch_related(
        Prefetch("shop_orders", queryset=shop_orders), Prefetch("lines", queryset=lines)
    )
    return get_object_or_404(orders, number=number)

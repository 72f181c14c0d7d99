"""Reads that shape the farmer console's pages. Each returns only the shop's own rows and decides the
page's queries in one place, so a page's query count does not grow with its products or orders."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.ledger.models import SaleEntry
from marketplace.ledger.selectors import ledger_totals_by_day
from marketplace.money import money_sum
from marketplace.order.models import ShopOrder

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
    from oscar.apps.catalogue.models import Product, ProductImage
    from oscar.apps.order.models import Line
    from oscar.apps.partner.models import Partner, StockRecord
else:
    Partner = get_model("partner", "Partner")
    Product = get_model("catalogue", "Product")
    ProductImage = get_model("catalogue", "ProductImage")
    StockRecord = get_model("partner", "StockRecord")
    Line = get_model("order", "Line")

S = ShopOrder.Status
LOW_STOCK = 5

# The console's order tabs: what a farmer has to do next, in the order they do it.
ORDER_TABS: dict[str, tuple[str, ...]] = {
    "new": (S.PAID,),
    "to_pack": (S.ACCEPTED, S.PACKED),
    "handed_over": (S.HANDED_OVER,),
    "in_transit": (S.IN_TRANSIT,),
    "delivered": (S.DELIVERED,),
    "problems": (S.CANCELLED, S.REFUNDED),
}


def farmer_shops(user: AbstractBaseUser | AnonymousUser) -> list["Partner"]:
    """The shops ``user`` farms for, in name order (empty for anyone else)."""
    if not user.is_authenticated:
        return []
    return list(Partner.objects.filter(users=user).order_by("name", "pk"))


def _stockrecords_of(shop: "Partner") -> "Prefetch[Any]":
    return Prefetch(
        "stockrecords", queryset=StockRecord.objects.filter(partner=shop), to_attr="shop_stockrecords"
    )


def console_listings(*, shop: "Partner") -> QuerySet["Product"]:
    """The shop's listings for the stock list: stock record, main photo and category in a fixed
    number of queries."""
    return (
        Product.objects.filter(shop=shop, parent__isnull=True)
        .select_related("product_class")
        .prefetch_related(
            _stockrecords_of(shop),
            Prefetch("images", queryset=ProductImage.objects.order_by("display_order", "pk")),
        )
        .order_by("listing_status", "-date_updated", "-pk")
    )


def console_listing(*, shop: "Partner", product_id: int) -> "Product":
    """One of the shop's listings (``Product.DoesNotExist`` for any other shop's)."""
    return console_listings(shop=shop).get(pk=product_id)


@dataclass(frozen=True)
class StockView:
    """A listing's stock as a farmer reads it."""

    price: Decimal | None
    left: int  # boxes (or pre-sale places) still to sell
    held: int  # boxes bought and not yet handed over (for a pre-sale: pre-sold)
    low: bool
    sold_out: bool


def stock_view(product: "Product") -> StockView:
    records = getattr(product, "shop_stockrecords", None)
    record = records[0] if records else None
    if record is None:
        return StockView(price=None, left=0, held=0, low=False, sold_out=True)
    held = record.num_allocated or 0
    left = max((record.num_in_stock or 0) - held, 0)
    return StockView(price=record.price, left=left, held=held, low=0 < left <= LOW_STOCK, sold_out=left == 0)


def _shop_lines(shop: "Partner") -> "Prefetch[Any]":
    return Prefetch(
        "order__lines",
        queryset=Line.objects.filter(partner=shop).select_related("product").order_by("pk"),
        to_attr="shop_lines",
    )


def console_shop_orders(*, shop: "Partner", tab: str) -> QuerySet[ShopOrder]:
    """The shop's orders in one tab, newest first, each with only this shop's lines and the buyer's
    delivery address."""
    return (
        ShopOrder.objects.filter(shop=shop, status__in=ORDER_TABS[tab])
        .select_related("order", "order__shipping_address")
        .prefetch_related(_shop_lines(shop))
        .order_by("ships_on", "-created_at")
    )


def console_tab_counts(*, shop: "Partner") -> dict[str, int]:
    counts = dict(
        ShopOrder.objects.filter(shop=shop)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {tab: sum(counts.get(status, 0) for status in statuses) for tab, statuses in ORDER_TABS.items()}


def console_shop_order(*, shop: "Partner", number: str) -> ShopOrder:
    """One of the shop's orders by its number (``ShopOrder.DoesNotExist`` for any other shop's), with
    its events and refunds. Orders not paid yet are not the shop's business."""
    return (
        ShopOrder.objects.filter(shop=shop, number=number)
        .exclude(status=S.PENDING_PAYMENT)
        .select_related("order", "order__shipping_address")
        .prefetch_related(_shop_lines(shop), "events__actor", "refunds")
        .get()
    )


@dataclass(frozen=True)
class PickingRow:
    product_id: int
    title: str
    pack: str
    quantity: int
    orders: int


def picking_list(*, shop: "Partner", day: datetime.date) -> list[PickingRow]:
    """What to pick and pack by ``day``: boxes per product over the shop's paid and accepted orders
    that ship on or before that day (pre-sales wait for their ship-from date)."""
    rows = (
        Line.objects.filter(
            partner=shop,
            order__shop_orders__shop=shop,
            order__shop_orders__status__in=(S.PAID, S.ACCEPTED),
            order__shop_orders__ships_on__lte=day,
        )
        .values("product_id", "title", "product__pack_size")
        .annotate(quantity=Sum("quantity"), orders=Count("order_id", distinct=True))
        .order_by("-quantity", "title")
    )
    return [
        PickingRow(
            product_id=row["product_id"],
            title=row["title"],
            pack=row["product__pack_size"] or "",
            quantity=row["quantity"],
            orders=row["orders"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class SalesDay:
    day: datetime.date
    amount: Decimal
    share: float  # of the busiest day in the chart, 0–1, for the bar height


@dataclass(frozen=True)
class ShopSales:
    """The shop's sales as the sales ledger has them: what orders paid on each day brought in (goods and
    shipping), with the money refunded on each day apart; the same figures as the association's sales
    review, open data and the monthly statement."""

    today: Decimal
    week: Decimal
    month: Decimal
    orders_today: int
    refunded: Decimal  # this month
    month_net: Decimal  # this month's sales less this month's refunds
    by_status: list[tuple[str, "StrOrPromise", int]]  # (status, label, count)
    top_products: list[dict[str, Any]]
    days: list[SalesDay]


def shop_sales(*, shop: "Partner", today: datetime.date | None = None, chart_days: int = 14) -> ShopSales:
    """The shop's sales from the ledger, by the Asia/Shanghai day each order was paid (four queries)."""
    today = today or timezone.localdate()
    week_start = today - datetime.timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    first_day = min(month_start, week_start, today - datetime.timedelta(days=chart_days - 1))
    per_day = ledger_totals_by_day(shop_id=shop.pk, since=first_day, until=today)
    zero = Decimal("0.00")

    def total(start: datetime.date) -> Decimal:
        return sum((t.gross for day, t in per_day.items() if day >= start), zero)

    def month(field: str) -> Decimal:
        return sum((getattr(t, field) for day, t in per_day.items() if day >= month_start), zero)

    chart = [today - datetime.timedelta(days=n) for n in range(chart_days - 1, -1, -1)]
    gross = {day: t.gross for day, t in per_day.items()}
    peak = max((gross.get(day, zero) for day in chart), default=zero)
    days = [
        SalesDay(day=day, amount=gross.get(day, zero), share=float(gross.get(day, 0) / peak) if peak else 0.0)
        for day in chart
    ]

    counts = dict(
        ShopOrder.objects.filter(shop=shop)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    by_status: list[tuple[str, StrOrPromise, int]] = [
        (status.value, status.label, counts[status.value]) for status in S if counts.get(status.value)
    ]

    top_products = list(
        Line.objects.filter(
            partner=shop,
            order__shop_orders__shop=shop,
            order__shop_orders__ledger_entries__kind=SaleEntry.Kind.SALE,
            order__shop_orders__ledger_entries__day__gte=month_start,
            order__shop_orders__ledger_entries__day__lte=today,
        )
        .values("product_id", "title")
        .annotate(quantity=Sum("quantity"), amount=money_sum(Sum("line_price_incl_tax")))
        .order_by("-amount", "title")[:5]
    )
    return ShopSales(
        today=total(today),
        week=total(week_start),
        month=total(month_start),
        orders_today=per_day[today].sales if today in per_day else 0,
        refunded=month("refunds"),
        month_net=month("net"),
        by_status=by_status,
        top_products=top_products,
        days=days,
    )


def listing_counts(*, shop: "Partner") -> dict[str, int]:
    """How many listings the shop has in each status, and how many are low or sold out."""
    stock = StockRecord.objects.filter(partner=shop, product__parent__isnull=True).aggregate(
        sold_out=Count("pk", filter=Q(num_in_stock__lte=F("num_allocated"))),
        low=Count(
            "pk",
            filter=Q(num_in_stock__gt=F("num_allocated"), num_in_stock__lte=F("num_allocated") + LOW_STOCK),
        ),
    )
    by_status = dict(
        Product.objects.filter(shop=shop, parent__isnull=True)
        .values_list("listing_status")
        .annotate(n=Count("pk"))
        .values_list("listing_status", "n")
    )
    return {**by_status, **stock}

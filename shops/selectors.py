"""Reads that shape the farmer console's pages. Each returns only the shop's own rows and decides the
page's queries in one place, so a page's query count does not grow with its products or orders."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder

Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")
StockRecord = get_model("partner", "StockRecord")
Line = get_model("order", "Line")
Refund = get_model("payments", "Refund")

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
# Parts the shop has been paid for (or will be): what its sales count.
SOLD_STATUSES = (S.PAID, S.ACCEPTED, S.PACKED, S.HANDED_OVER, S.IN_TRANSIT, S.DELIVERED)


def farmer_shops(user) -> list["Partner"]:
    """The shops ``user`` farms for, in name order (empty for anyone else)."""
    if not user.is_authenticated:
        return []
    return list(Partner.objects.filter(users=user).order_by("name", "pk"))


def _stockrecords_of(shop) -> Prefetch:
    return Prefetch(
        "stockrecords", queryset=StockRecord.objects.filter(partner=shop), to_attr="shop_stockrecords"
    )


def console_listings(*, shop: "Partner"):
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


def stock_view(product) -> StockView:
    records = getattr(product, "shop_stockrecords", None)
    record = records[0] if records else None
    if record is None:
        return StockView(price=None, left=0, held=0, low=False, sold_out=True)
    held = record.num_allocated or 0
    left = max((record.num_in_stock or 0) - held, 0)
    return StockView(price=record.price, left=left, held=held, low=0 < left <= LOW_STOCK, sold_out=left == 0)


def _shop_lines(shop) -> Prefetch:
    return Prefetch(
        "order__lines",
        queryset=Line.objects.filter(partner=shop).select_related("product").order_by("pk"),
        to_attr="shop_lines",
    )


def console_shop_orders(*, shop: "Partner", tab: str):
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
    today: Decimal
    week: Decimal
    month: Decimal
    orders_today: int
    refunded: Decimal
    by_status: list[tuple[str, str, int]]  # (status, label, count)
    top_products: list[dict]
    days: list[SalesDay]


def _money(expression) -> Coalesce:
    return Coalesce(
        expression, Value(Decimal("0")), output_field=DecimalField(max_digits=14, decimal_places=2)
    )


def shop_sales(*, shop: "Partner", today: datetime.date | None = None, chart_days: int = 14) -> ShopSales:
    """The shop's sales seen from the shop: goods and shipping of its paid parts, by day."""
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    week_start = today - datetime.timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    first_day = min(month_start, week_start, today - datetime.timedelta(days=chart_days - 1))
    since = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=tz)

    sold = ShopOrder.objects.filter(shop=shop, status__in=SOLD_STATUSES, created_at__gte=since)
    per_day: dict[datetime.date, Decimal] = {}
    orders_per_day: dict[datetime.date, int] = {}
    for day, amount, count in (
        sold.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(amount=_money(Sum(F("lines_total") + F("shipping_charge"))), n=Count("pk"))
        .values_list("day", "amount", "n")
    ):
        per_day[day], orders_per_day[day] = amount, count

    def total(start: datetime.date) -> Decimal:
        return sum((amount for day, amount in per_day.items() if day >= start), Decimal("0"))

    chart = [today - datetime.timedelta(days=n) for n in range(chart_days - 1, -1, -1)]
    peak = max((per_day.get(day, Decimal("0")) for day in chart), default=Decimal("0"))
    days = [
        SalesDay(
            day=day,
            amount=per_day.get(day, Decimal("0")),
            share=float(per_day.get(day, 0) / peak) if peak else 0.0,
        )
        for day in chart
    ]

    counts = dict(
        ShopOrder.objects.filter(shop=shop)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    by_status = [
        (status.value, status.label, counts[status.value]) for status in S if counts.get(status.value)
    ]

    month_since = datetime.datetime.combine(month_start, datetime.time.min, tzinfo=tz)
    top_products = list(
        Line.objects.filter(
            partner=shop,
            order__shop_orders__shop=shop,
            order__shop_orders__status__in=SOLD_STATUSES,
            order__date_placed__gte=month_since,
        )
        .values("product_id", "title")
        .annotate(quantity=Sum("quantity"), amount=_money(Sum("line_price_incl_tax")))
        .order_by("-amount", "title")[:5]
    )
    refunded = Refund.objects.filter(shop_order__shop=shop, status=Refund.Status.SUCCEEDED).aggregate(
        total=_money(Sum("amount"))
    )["total"]
    return ShopSales(
        today=per_day.get(today, Decimal("0")),
        week=total(week_start),
        month=total(month_start),
        orders_today=orders_per_day.get(today, 0),
        refunded=refunded,
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

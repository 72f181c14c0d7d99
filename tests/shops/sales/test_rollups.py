"""The monthly roll-ups (``SalesMonth``, ``BuyerSalesMonth``) behind long periods: for random periods that
start and end mid-month and span years, the review's figures (sales, units, money, repeat buyers) equal a
direct computation from the shop orders, their paid events, lines and refunds; the roll-ups stay the
sums of the daily facts after a refund, a new sale and a rebuild; and a two-year range costs the same
number of queries as a month."""

import datetime
import importlib
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder
from marketplace.payments.models import Refund
from marketplace.periods import CUSTOM, MONTH, SEASON, Period, custom_period, period_of
from shops.sales.facts import sales_facts_rebuild, sales_facts_refresh
from shops.sales.models import (
    BuyerSalesChain,
    BuyerSalesChainMonth,
    BuyerSalesDay,
    BuyerSalesMonth,
    CategorySalesDay,
    CategorySalesMonth,
    ChainPlace,
    ProductSalesDay,
    ProductSalesMonth,
    SalesDay,
    SalesMonth,
)
from shops.sales.selectors import (
    CATEGORY,
    COUNTY,
    PRODUCT,
    SHOP,
    TOWN,
    UNITEMISED,
    VILLAGE,
    SalesFilters,
    period_parts,
    sales_review,
)
from shops.sales.subscribers import facts_after_refund
from tests.factories import ProductFactory
from tests.shops.sales.conftest import SHANGHAI, buyer, refund_make, sale
from tests.shops.sales.test_pages import staff_client  # noqa: F401  (the fixture)

D = Decimal
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
HILL_TEA = "高山绿茶"
FIRST, LAST = datetime.date(2024, 11, 1), datetime.date(2026, 4, 30)
MONEY = ("goods", "shipping", "presale_goods", "refunds", "refunds_itemised")


@dataclass(frozen=True)
class Sold:
    shop_id: int
    day: datetime.date
    buyer: object
    units: int
    goods: Decimal
    shipping: Decimal
    presale: Decimal


def truth() -> tuple[list[Sold], list[tuple[int, datetime.date, Decimal]]]:
    """Every sale (a shop order's first move to paid, on its Asia/Shanghai day) with its lines, and every
    refund that succeeded, read from the source rows, not the ledger or the facts."""
    sold = []
    for shop_order in ShopOrder.objects.select_related("order"):
        paid = shop_order.events.filter(to_status="paid").order_by("created_at").first()
        if paid is None:
            continue
        day = paid.created_at.astimezone(SHANGHAI).date()
        lines = list(shop_order.lines().select_related("product"))
        presale = sum(
            (
                line.line_price_incl_tax
                for line in lines
                if line.product.presale_ship_from is not None and line.product.presale_ship_from > day
            ),
            D("0"),
        )
        order = shop_order.order
        sold.append(
            Sold(
                shop_id=shop_order.shop_id,
                day=day,
                buyer=order.user_id or order.guest_email.strip().lower(),
                units=sum(line.quantity for line in lines),
                goods=sum((line.line_price_incl_tax for line in lines), D("0")),
                shipping=shop_order.shipping_charge,
                presale=presale,
            )
        )
    refunds = [
        (r.shop_order.shop_id, r.created_at.astimezone(SHANGHAI).date(), r.amount)
        for r in Refund.objects.filter(status=Refund.Status.SUCCEEDED).select_related("shop_order")
    ]
    return sold, refunds


def expected(period: Period, shops: set[int] | None = None, *, source: tuple | None = None) -> dict:
    """The figures of ``period`` (for ``shops``) from ``truth()`` (read again unless given)."""
    sold, refunds = source or truth()
    inside = [
        s for s in sold if period.start <= s.day <= period.end and (shops is None or s.shop_id in shops)
    ]
    gross = sum((s.goods + s.shipping for s in inside), D("0"))
    refunded = sum(
        (
            a
            for shop, day, a in refunds
            if period.start <= day <= period.end and (shops is None or shop in shops)
        ),
        D("0"),
    )
    per_buyer = Counter(s.buyer for s in inside)
    return {
        "orders": len(inside),
        "units": sum(s.units for s in inside),
        "gross": gross,
        "refunds": refunded,
        "net": gross - refunded,
        "presale_goods": sum((s.presale for s in inside), D("0")),
        "repeat_buyers": sum(1 for n in per_buyer.values() if n >= 2),
    }


def seen(figures) -> dict:
    return {
        "orders": figures.orders,
        "units": figures.units,
        "gross": figures.gross,
        "refunds": figures.refunds,
        "net": figures.net,
        "presale_goods": figures.presale_goods,
        "repeat_buyers": figures.repeat_buyers,
    }


def review(period: Period, dimension: str = SHOP, **filters: int):
    return sales_review(period=period, filters=SalesFilters(**filters), dimension=dimension)


def chains_follow_the_days() -> None:
    """Every buyer's chain, by shop, by the shops' village, town and county, over all shops, by category
    over all shops (its sales holding the category, own or in its tree) and by shop or place and category
    tree, is what its daily rows say: each day's sales, the previous day with a sale, and the day of the
    second sale counting from that day; and its rows as seen from each month start are those of the chain
    row whose gap holds that month start, when it has a previous and a second sale."""
    places = {
        shop.pk: {"village": shop.village_id, "town": shop.town_id, "county": shop.county_id}
        for shop in Partner.objects.all()
    }
    chains = defaultdict(lambda: defaultdict(int))
    first = last = None
    for shop_id, key, day, n in BuyerSalesDay.objects.values_list("shop_id", "buyer_key", "day", "sales"):
        chains[("shop", shop_id, None, None, key)][day] += n
        for level, place in places[shop_id].items():
            chains[(level, None, place, None, key)][day] += n
        chains[("all", None, None, None, key)][day] += n
        first, last = min(first or day, day), max(last or day, day)
    in_scope = {CategorySalesDay.Scope.OWN: "cat", CategorySalesDay.Scope.TREE: "tree"}
    for scope, shop_id, category_id, key, day, n in CategorySalesDay.objects.values_list(
        "scope", "shop_id", "category_id", "buyer_key", "day", "sales"
    ):
        chains[(in_scope[scope], None, None, category_id, key)][day] += n
        if scope == CategorySalesDay.Scope.TREE:
            chains[("shtree", shop_id, None, category_id, key)][day] += n
            for level, place in places[shop_id].items():
                chains[(f"{level[0]}tree", None, place, category_id, key)][day] += n
    wanted, wanted_months = set(), set()
    month_starts = []
    if first is not None:
        month = first.replace(day=1)
        while (month := (month + datetime.timedelta(days=32)).replace(day=1)) <= last:
            month_starts.append(month)
    for (scope, shop_id, place, category_id, key), days in chains.items():
        ordered = sorted(days)
        for i, day in enumerate(ordered):
            following = ordered[i + 1] if i + 1 < len(ordered) else None
            second = day if days[day] >= 2 else following
            previous = ordered[i - 1] if i else None
            wanted.add((scope, shop_id, place, category_id, key, day, days[day], previous, second))
            if previous is not None and second is not None:
                wanted_months.update(
                    (scope, shop_id, place, category_id, key, m, previous, second)
                    for m in month_starts
                    if previous < m <= day
                )
    kept = BuyerSalesChain.objects.values_list(
        "scope",
        "shop_id",
        "place_id",
        "category_id",
        "buyer_key",
        "day",
        "sales",
        "previous_day",
        "second_day",
    )
    assert sorted(kept, key=str) == sorted(wanted, key=str)
    kept_months = BuyerSalesChainMonth.objects.values_list(
        "scope", "shop_id", "place_id", "category_id", "buyer_key", "month", "previous_day", "second_day"
    )
    assert sorted(kept_months, key=str) == sorted(wanted_months, key=str)
    assert {scope for scope, *_rest in wanted} >= {
        "shop",
        "village",
        "town",
        "county",
        "all",
        "cat",
        "tree",
        "shtree",
        "vtree",
        "ttree",
        "ctree",
    }


def rollups_are_the_sums_of_the_days() -> None:
    """Every monthly row equals the sums of its month's daily rows, and no month is missing or extra;
    and the buyers' chains follow the days."""
    chains_follow_the_days()
    months = {
        (row.pop("m"), row.pop("shop_id")): row
        for row in SalesDay.objects.annotate(m=TruncMonth("day"))
        .values("m", "shop_id")
        .annotate(**{name: Sum(name) for name in ("sales", "units", *MONEY)})
        .order_by()
    }
    kept = {
        (row.pop("month"), row.pop("shop_id")): row
        for row in SalesMonth.objects.values("month", "shop_id", "sales", "units", *MONEY)
    }
    assert kept == months
    buyers = {
        (m, shop, key): n
        for m, shop, key, n in BuyerSalesDay.objects.annotate(m=TruncMonth("day"))
        .values("m", "shop_id", "buyer_key")
        .annotate(n=Sum("sales"))
        .values_list("m", "shop_id", "buyer_key", "n")
        .order_by()
    }
    assert {
        (m, shop, key): n
        for m, shop, key, n in BuyerSalesMonth.objects.values_list("month", "shop_id", "buyer_key", "sales")
    } == buyers
    product_keys = ("shop_id", "product_id", "category_id")
    product_sums = ("sales", "units", "goods", "presale_goods", "refunds_itemised")
    products = {
        (row.pop("m"), *(row.pop(k) for k in product_keys)): row
        for row in ProductSalesDay.objects.annotate(m=TruncMonth("day"))
        .values("m", *product_keys)
        .annotate(**{name: Sum(name) for name in product_sums})
        .order_by()
    }
    assert products, "no product facts"
    assert {
        (row.pop("month"), *(row.pop(k) for k in product_keys)): row
        for row in ProductSalesMonth.objects.values("month", *product_keys, *product_sums)
    } == products
    categories = {
        (m, shop, category, scope): n
        for m, shop, category, scope, n in CategorySalesDay.objects.annotate(m=TruncMonth("day"))
        .values("m", "shop_id", "category_id", "scope")
        .annotate(n=Sum("sales"))
        .values_list("m", "shop_id", "category_id", "scope", "n")
        .order_by()
    }
    assert categories, "no category facts"
    assert {
        (m, shop, category, scope): n
        for m, shop, category, scope, n in CategorySalesMonth.objects.values_list(
            "month", "shop_id", "category_id", "scope", "sales"
        )
    } == categories


@pytest.fixture
def years(world):
    """Eighteen months of sales at the three shops by a dozen buyers (signed-up and guests, one guest
    typing her address in two cases), many either side of a month's end, with refunds by line and by
    amount, then the facts built by the rebuild."""
    rng = random.Random(20261202)
    people = [{"user": buyer()} for _ in range(6)] + [{"email": f"guest{n}@example.cn"} for n in range(5)]
    people.append({"email": "Guest0@Example.cn"})
    products = [world.tea, world.shoots, world.peaches]
    orders = []
    day = FIRST
    while day <= LAST:
        for _ in range(rng.choice([0, 1, 1, 2])):
            month_end = (day + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
            on = rng.choice([day, month_end, month_end - datetime.timedelta(days=rng.randint(0, 3))])
            when = rng.choice(["00:05", "10:00", "23:55"])
            lines = [(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, 2))]
            orders.append(sale(*lines, paid_at=f"{on.isoformat()} {when}", **rng.choice(people)))
        day = (day + datetime.timedelta(days=32)).replace(day=1) + datetime.timedelta(days=rng.randint(0, 20))
        day = day.replace(day=min(day.day, 28))
    # One guest, her address typed two ways, either side of a month's end.
    sale((world.tea, 1), paid_at="2025-05-31 23:50", email="guest0@example.cn")
    sale((world.tea, 1), paid_at="2025-06-01 00:10", email="Guest0@Example.cn")
    for order in rng.sample(orders, 8):
        part = ShopOrder.objects.filter(order=order).first()
        paid = part.events.get(to_status="paid").created_at.astimezone(SHANGHAI)
        later = paid + datetime.timedelta(days=rng.randint(0, 40))
        when = min(later.date(), LAST).isoformat() + " 12:00"
        if rng.random() < 0.5:
            refund_make(part, when=when, lines=[(part.lines().first(), 1)])
        else:
            refund_make(part, when=when, amount=D("5.00"))
    # A green tea at the bamboo-shoot shop too: the tea category's buyers at one shop are not its buyers
    # at all shops. One buyer buys it there and the tea shop's tea, another it twice there.
    hill_tea = ProductFactory(
        title=HILL_TEA, shop=world.shoots_shop, stock=(Decimal("60.00"), 500), perishable=False
    )
    hill_tea.categories.set([world.green_tea])
    both, twice = buyer(), buyer()
    sale((world.tea, 1), paid_at="2025-08-05 10:00", user=both)
    sale((hill_tea, 1), paid_at="2025-08-20 10:00", user=both)
    sale((hill_tea, 1), paid_at="2025-08-09 10:00", user=twice)
    sale((hill_tea, 2), (world.shoots, 1), paid_at="2025-10-02 10:00", user=twice)
    sales_facts_rebuild(since=FIRST, until=LAST)
    return world


def random_periods(n: int) -> list[Period]:
    rng = random.Random(14)
    span = (LAST - FIRST).days
    periods = []
    for _ in range(n):
        start = FIRST + datetime.timedelta(days=rng.randint(-20, span))
        periods.append(custom_period(start, start + datetime.timedelta(days=rng.randint(0, 600))))
    return periods


FIXED = [
    custom_period(datetime.date(2024, 11, 17), datetime.date(2026, 4, 12)),  # two years' worth, mid-month
    custom_period(datetime.date(2024, 12, 1), datetime.date(2026, 3, 31)),  # whole months only
    custom_period(datetime.date(2025, 1, 31), datetime.date(2025, 2, 1)),  # two edge days, no month
    custom_period(datetime.date(2025, 6, 3), datetime.date(2025, 6, 27)),  # inside one month
    period_of(MONTH, datetime.date(2025, 11, 1)),
    period_of(SEASON, datetime.date(2026, 1, 10)),  # December to February, across the year's end
]


def test_period_parts_cover_every_day_once():
    for period in [*FIXED, *random_periods(40)]:
        parts = period_parts(period)
        days = []
        month = parts.first_month
        while month <= parts.last_month:
            days += period_of(MONTH, month).each_day()
            month = (month + datetime.timedelta(days=32)).replace(day=1)
        for first, last in (parts.head, parts.tail):
            days += [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
        assert sorted(days) == period.each_day(), period


def test_any_period_agrees_with_the_orders(years):
    """Fixed periods (two years mid-month, whole months only, two edge days, inside a month, a month, a
    season across the year's end) and 20 random ones of up to 600 days."""
    source = truth()
    in_suichang = {years.tea_shop.pk, years.shoots_shop.pk}
    for period in FIXED + random_periods(20):
        result = review(period)
        assert seen(result.totals) == expected(period, source=source), period
        rows = {row.figures.key: row.figures for row in result.rows}
        for shop in (years.tea_shop, years.shoots_shop, years.peach_shop):
            alone = expected(period, {shop.pk}, source=source)
            if shop.pk in rows:
                assert seen(rows[shop.pk]) == alone, (period, shop.name)
            else:
                assert alone["orders"] == 0, (period, shop.name)
        suichang = review(period, COUNTY, county_id=years.suichang.pk)
        assert seen(suichang.totals) == expected(period, in_suichang, source=source), period
        by_village = {row.figures.key: row.figures for row in review(period, VILLAGE).rows}
        if years.village_b.pk in by_village:  # the shoots shop's village: the month roll-ups' path
            assert seen(by_village[years.village_b.pk]) == expected(
                period, {years.shoots_shop.pk}, source=source
            ), period
        tea = review(period, SHOP, shop_id=years.tea_shop.pk)  # one shop's chain
        assert seen(tea.totals) == expected(period, {years.tea_shop.pk}, source=source), period

    # So the comparisons can fail: a buyer's sales in two different months make them a repeat buyer over
    # a range, not in either month alone; the guest who typed her address two ways is one buyer.
    two_years = FIXED[0]
    over_range = review(two_years).totals.repeat_buyers
    assert over_range == expected(two_years)["repeat_buyers"]
    assert over_range >= 4
    one_month = review(period_of(MONTH, datetime.date(2025, 11, 1))).totals.repeat_buyers
    assert one_month < over_range
    guest_tea = SalesFilters(shop_id=years.tea_shop.pk)
    for period in (
        custom_period(datetime.date(2025, 5, 31), datetime.date(2025, 6, 1)),  # two edge days
        custom_period(datetime.date(2025, 5, 1), datetime.date(2025, 6, 30)),  # two whole months
        custom_period(datetime.date(2025, 5, 20), datetime.date(2025, 6, 30)),  # edge days and a month
    ):
        found = sales_review(period=period, filters=guest_tea, dimension=SHOP).totals.repeat_buyers
        assert found == expected(period, {years.tea_shop.pk})["repeat_buyers"] >= 1, period
    assert review(period_of(MONTH, datetime.date(2025, 5, 1)), shop_id=years.tea_shop.pk).totals.orders >= 1


def test_the_rollups_are_the_sums_of_the_days_after_a_rebuild_and_the_migration(years):
    rollups_are_the_sums_of_the_days()
    assert SalesMonth.objects.values("month").distinct().count() >= 12
    # A damaged roll-up, a missing one and one that should not be there are put right by the rebuild.
    SalesMonth.objects.filter(month=datetime.date(2025, 6, 1)).update(sales=999, goods=D("1.00"))
    BuyerSalesMonth.objects.filter(month=datetime.date(2025, 7, 1)).delete()
    BuyerSalesMonth.objects.create(
        month=datetime.date(2025, 8, 1), shop=years.tea_shop, buyer_key="u0", sales=7
    )
    before = sorted(SalesMonth.objects.values_list("month", "shop_id", "sales"))
    assert sales_facts_rebuild(since=FIRST, until=LAST) > 0
    rollups_are_the_sums_of_the_days()
    assert sorted(SalesMonth.objects.values_list("month", "shop_id", "sales")) != before
    again = sorted(BuyerSalesMonth.objects.values_list("month", "shop_id", "buyer_key", "sales"))
    sales_facts_rebuild(since=FIRST, until=LAST)  # idempotent
    assert sorted(BuyerSalesMonth.objects.values_list("month", "shop_id", "buyer_key", "sales")) == again
    assert seen(review(FIXED[0]).totals) == expected(FIXED[0])

    # A whole rebuild drops months from before the first sale.
    SalesMonth.objects.create(month=datetime.date(2023, 1, 1), shop=years.tea_shop, sales=3)
    BuyerSalesMonth.objects.create(
        month=datetime.date(2023, 1, 1), shop=years.tea_shop, buyer_key="u1", sales=3
    )
    ProductSalesMonth.objects.create(month=datetime.date(2023, 1, 1), shop=years.tea_shop, product=years.tea)
    CategorySalesMonth.objects.create(
        month=datetime.date(2023, 1, 1), shop=years.tea_shop, scope=CategorySalesDay.Scope.OWN, sales=2
    )
    sales_facts_rebuild(until=LAST)
    for model in (SalesMonth, BuyerSalesMonth, ProductSalesMonth, CategorySalesMonth):
        assert not model.objects.filter(month__lt=FIRST).exists(), model
    rollups_are_the_sums_of_the_days()

    # The data migrations fill the roll-ups of a database that had daily facts only.
    for model in (SalesMonth, BuyerSalesMonth, ProductSalesMonth, CategorySalesMonth):
        model.objects.all().delete()
    BuyerSalesChain.objects.all().delete()
    BuyerSalesChainMonth.objects.all().delete()
    ChainPlace.objects.all().delete()
    migration = importlib.import_module("shops.sales.migrations.0002_monthly_rollups")
    migration.rollups_fill(apps, None)
    editor = SimpleNamespace(connection=connection)  # they only need the connection
    importlib.import_module("shops.sales.migrations.0003_buyer_chains").chains_fill(apps, editor)
    importlib.import_module("shops.sales.migrations.0004_chains_by_place_and_month").chains_fill(apps, editor)
    importlib.import_module("shops.sales.migrations.0007_category_rollups_and_chains").rollups_fill(
        apps, editor
    )
    importlib.import_module(
        "shops.sales.migrations.0009_chains_by_shop_and_category_tree"
    ).shop_tree_chains_fill(apps, editor)
    importlib.import_module(
        "shops.sales.migrations.0011_chains_by_place_and_category_tree"
    ).place_tree_chains_fill(apps, editor)
    rollups_are_the_sums_of_the_days()
    assert seen(review(FIXED[0]).totals) == expected(FIXED[0])


def test_a_refund_and_a_new_sale_keep_the_month_right(years):
    two_years = FIXED[0]
    before = review(two_years).totals
    part = ShopOrder.objects.filter(shop=years.peach_shop, events__to_status="paid").order_by("pk").last()
    refund = refund_make(part, when="2026-01-20 09:00", amount=D("12.30"))
    facts_after_refund("refund.succeeded", {"refund_id": refund.pk})  # what the outbox delivers
    rollups_are_the_sums_of_the_days()
    after = review(two_years).totals
    assert after.refunds == before.refunds + D("12.30")
    assert seen(after) == expected(two_years)

    # A new buyer's second sale in another month of the range makes one more repeat buyer.
    newcomer = buyer()
    sale((years.tea, 1), paid_at="2025-03-03 10:00", user=newcomer)
    sale((years.tea, 1), paid_at="2026-02-27 23:50", user=newcomer)
    for day in (datetime.date(2025, 3, 3), datetime.date(2026, 2, 27)):
        sales_facts_refresh(day=day, shop_ids=[years.tea_shop.pk])  # what the paid event's task runs
    rollups_are_the_sums_of_the_days()
    latest = review(two_years).totals
    assert latest.repeat_buyers == after.repeat_buyers + 1
    assert latest.orders == after.orders + 2
    assert seen(latest) == expected(two_years)


def sold_products() -> list[tuple[int, datetime.date, object, dict[int, tuple[int, Decimal]]]]:
    """Every sale (shop, Asia/Shanghai day paid, buyer) with its products' units and goods, from the
    source rows."""
    sold = []
    for shop_order in ShopOrder.objects.select_related("order"):
        paid = shop_order.events.filter(to_status="paid").order_by("created_at").first()
        if paid is None:
            continue
        products: dict[int, tuple[int, Decimal]] = {}
        for line in shop_order.lines():
            units, goods = products.get(line.product_id, (0, D("0")))
            products[line.product_id] = (units + line.quantity, goods + line.line_price_incl_tax)
        order = shop_order.order
        buyer_is = order.user_id or order.guest_email.strip().lower()
        sold.append((shop_order.shop_id, paid.created_at.astimezone(SHANGHAI).date(), buyer_is, products))
    return sold


def by_category_expected(
    period: Period, sold: list, category_of: dict[int, set[int]], shops: set[int] | None = None
) -> dict:
    """Per category (``category_of``: product → the categories a sale of it counts in), the sales that
    held one of its products, their units and goods, and the buyers with two or more such sales."""
    found: dict = defaultdict(lambda: {"orders": 0, "units": 0, "goods": D("0"), "buyers": Counter()})
    for shop_id, day, buyer_is, products in sold:
        if not period.start <= day <= period.end or (shops is not None and shop_id not in shops):
            continue
        for category in {c for product in products for c in category_of[product]}:
            row = found[category]
            row["orders"] += 1
            row["buyers"][buyer_is] += 1
            for product, (units, goods) in products.items():
                if category in category_of[product]:
                    row["units"] += units
                    row["goods"] += goods
    return {
        key: (row["orders"], row["units"], row["goods"], sum(1 for n in row["buyers"].values() if n >= 2))
        for key, row in found.items()
    }


def by_category_seen(result) -> dict:
    return {
        row.figures.key: (row.figures.orders, row.figures.units, row.figures.goods, row.figures.repeat_buyers)
        for row in result.rows
        if row.figures.key != UNITEMISED
    }


def by_shop_seen(result) -> dict:
    return {
        row.figures.key: (row.figures.orders, row.figures.units, row.figures.goods, row.figures.repeat_buyers)
        for row in result.rows
    }


def test_by_category_and_product_any_period_agrees_with_the_orders(years):
    """By category and by product, under a category filter (in all, broken down by shop, within one shop
    and within a county by shop), and with a place filter (where the chains by category cannot answer),
    for the fixed periods and 12 random ones: orders, units, goods and repeat buyers equal what the orders
    say. The long ones read the monthly roll-ups and the chains by category, and by shop and category."""
    sold = sold_products()
    hill_tea = Product.objects.get(title=HILL_TEA)
    own = {p.pk: {p.categories.get().pk} for p in (years.tea, years.shoots, years.peaches, hill_tea)}
    tea_root, dried_root = years.green_tea.get_parent(), years.dried_goods
    in_tree = {
        years.tea.pk: {years.green_tea.pk, tea_root.pk},
        hill_tea.pk: {years.green_tea.pk, tea_root.pk},
        years.shoots.pk: {years.shoots.categories.get().pk, dried_root.pk},
        years.peaches.pk: {years.fruit.pk},
    }
    each = {product: {product} for product in own}
    in_suichang = {years.tea_shop.pk, years.shoots_shop.pk}
    shops = (years.tea_shop.pk, years.shoots_shop.pk, years.peach_shop.pk)
    places_of = {
        dimension: dict(Partner.objects.filter(pk__in=shops).values_list("pk", column))
        for dimension, column in ((VILLAGE, "village_id"), (COUNTY, "county_id"))
    }
    repeat_seen = by_shop_repeat_seen = 0
    for period in FIXED + random_periods(12):
        wanted = by_category_expected(period, sold, own)
        assert by_category_seen(review(period, CATEGORY)) == wanted, period
        repeat_seen += sum(row[3] for row in wanted.values())
        products = {k: v[:3] for k, v in by_category_expected(period, sold, each).items()}
        assert {k: v[:3] for k, v in by_category_seen(review(period, PRODUCT)).items()} == products, period
        for root in (tea_root, dried_root):
            totals = review(period, SHOP, category_id=root.pk).totals
            orders, units, goods, repeat = by_category_expected(period, sold, in_tree).get(
                root.pk, (0, 0, D("0"), 0)
            )
            assert (totals.orders, totals.units, totals.goods, totals.repeat_buyers) == (
                orders,
                units,
                goods,
                repeat,
            ), (period, root)
            at_each = {
                shop: by_category_expected(period, sold, in_tree, {shop}).get(root.pk) for shop in shops
            }
            at_each = {shop: row for shop, row in at_each.items() if row is not None}
            assert by_shop_seen(review(period, SHOP, category_id=root.pk)) == at_each, (period, root)
            assert by_shop_seen(review(period, SHOP, category_id=root.pk, county_id=years.suichang.pk)) == {
                shop: row for shop, row in at_each.items() if shop in in_suichang
            }, (period, root)
            one = review(period, SHOP, category_id=root.pk, shop_id=years.tea_shop.pk).totals
            assert (one.orders, one.units, one.goods, one.repeat_buyers) == at_each.get(
                years.tea_shop.pk, (0, 0, D("0"), 0)
            ), (period, root)
            for dimension, place_of in places_of.items():
                members = defaultdict(set)
                for shop, place in place_of.items():
                    members[place].add(shop)
                at_places = {
                    place: by_category_expected(period, sold, in_tree, shops_there).get(root.pk)
                    for place, shops_there in members.items()
                }
                assert by_shop_seen(review(period, dimension, category_id=root.pk)) == {
                    place: row for place, row in at_places.items() if row is not None
                }, (period, root, dimension)
            county = review(period, SHOP, category_id=root.pk, county_id=years.suichang.pk).totals
            assert (county.orders, county.units, county.goods, county.repeat_buyers) == by_category_expected(
                period, sold, in_tree, in_suichang
            ).get(root.pk, (0, 0, D("0"), 0)), (period, root)
            by_shop_repeat_seen += sum(row[3] for row in at_each.values())
        assert by_category_seen(
            review(period, CATEGORY, county_id=years.suichang.pk)
        ) == by_category_expected(period, sold, own, in_suichang), period
    assert repeat_seen >= 10  # so the repeat buyers compared are not all zero
    assert by_shop_repeat_seen >= 10
    # The previous period's column, read for its net alone, is the net of that period's own review.
    nets_compared = 0
    for period in FIXED:
        for dimension, filters in (
            (CATEGORY, {}),
            (PRODUCT, {}),
            (SHOP, {"category_id": tea_root.pk}),
            (SHOP, {}),
        ):
            before = {
                row.figures.key: row.figures.net
                for row in review(period.previous(), dimension, **filters).rows
            }
            for row in review(period, dimension, **filters).rows:
                assert row.previous_net == before.get(row.figures.key, D("0")), (period, dimension, filters)
                nets_compared += row.previous_net != 0
    assert nets_compared >= 20


def queries(period: Period, dimension: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        review(period, dimension)
    return [q["sql"] for q in captured.captured_queries]


@pytest.fixture
def two_sales(world):
    """One buyer's two sales at the tea shop fourteen months apart, and a guest's one at the peach shop."""
    regular = buyer()
    sale((world.tea, 1), paid_at="2024-12-31 23:50", user=regular)
    sale((world.tea, 2), paid_at="2026-02-01 00:10", user=regular)
    sale((world.peaches, 1), paid_at="2025-07-15 10:00", email="guest@example.cn")
    sales_facts_rebuild(since=datetime.date(2024, 12, 1), until=datetime.date(2026, 3, 1))
    return world


def test_two_years_cost_the_queries_of_a_month(two_sales):
    for dimension in (SHOP, VILLAGE, COUNTY):
        month = queries(period_of(MONTH, datetime.date(2026, 1, 1)), dimension)
        two_years = queries(custom_period(datetime.date(2024, 5, 9), datetime.date(2026, 5, 8)), dimension)
        one_day = queries(custom_period(datetime.date(2026, 1, 9), datetime.date(2026, 1, 9)), dimension)
        assert len(two_years) == len(month) == len(one_day), dimension
        # The long range reads the monthly roll-ups for its whole months, and the chains (as seen from
        # its first month start) for repeat buyers, by shop and by place alike: no buyer's sales summed.
        assert any("sales_salesmonth" in sql for sql in two_years)
        assert any("sales_buyersaleschainmonth" in sql for sql in two_years), dimension
        assert not any("sales_buyersalesmonth" in sql for sql in two_years), dimension
    assert (
        review(custom_period(datetime.date(2024, 5, 9), datetime.date(2026, 5, 8))).totals.repeat_buyers == 1
    )
    # By category and by product the same: the product and category roll-ups and the chains by category
    # for the whole months, no buyer's sales summed over the days.
    for dimension in (CATEGORY, PRODUCT):
        month = queries(period_of(MONTH, datetime.date(2026, 2, 1)), dimension)  # with a sale: named
        two_years = queries(custom_period(datetime.date(2024, 5, 9), datetime.date(2026, 5, 8)), dimension)
        assert len(two_years) == len(month), dimension
        assert any("sales_productsalesmonth" in sql for sql in two_years), dimension
        assert not any("sales_categorysalesday" in sql and "buyer_key" in sql for sql in two_years), dimension
    two_years = queries(custom_period(datetime.date(2024, 5, 9), datetime.date(2026, 5, 8)), CATEGORY)
    assert any("sales_categorysalesmonth" in sql for sql in two_years)
    assert any("sales_buyersaleschainmonth" in sql for sql in two_years)
    by_category = review(custom_period(datetime.date(2024, 5, 9), datetime.date(2026, 5, 8)), CATEGORY)
    green_tea = next(row.figures for row in by_category.rows if row.figures.key == two_sales.green_tea.pk)
    assert (green_tea.orders, green_tea.units, green_tea.repeat_buyers) == (2, 3, 1)
    # A category filter broken down by shop, or within one shop: the chains by shop and category tree.
    tea_root = two_sales.green_tea.get_parent()
    long = custom_period(datetime.date(2024, 5, 9), datetime.date(2026, 5, 8))
    for dimension, filters in (
        (SHOP, {}),
        (SHOP, {"shop_id": two_sales.tea_shop.pk}),
        (VILLAGE, {}),
        (COUNTY, {}),
        (SHOP, {"county_id": two_sales.suichang.pk}),
    ):
        counted = []
        for period in (period_of(MONTH, datetime.date(2026, 2, 1)), long):
            with CaptureQueriesContext(connection) as captured:
                result = review(period, dimension, category_id=tea_root.pk, **filters)
            counted.append(len(captured))
        sqls = [q["sql"] for q in captured.captured_queries]
        assert counted[0] == counted[1], filters
        assert not any("sales_categorysalesday" in sql and "buyer_key" in sql for sql in sqls), filters
        assert any("sales_buyersaleschainmonth" in sql for sql in sqls), filters
        tea_shop = result.totals if "shop_id" in filters else next(r.figures for r in result.rows)
        assert (tea_shop.orders, tea_shop.repeat_buyers) == (2, 1), filters


def test_a_two_year_custom_range_on_the_page(two_sales, staff_client):  # noqa: F811  (the imported fixture)
    params = {"period": CUSTOM, "start": "2024-05-09", "end": "2026-05-08", "dimension": "shop"}
    response = staff_client.get(reverse("association:sales"), params)
    assert response.status_code == 200
    result = response.context["review"]
    assert (result.period.start, result.period.end) == (datetime.date(2024, 5, 9), datetime.date(2026, 5, 8))
    assert not list(response.context["messages"])  # accepted as asked, not replaced by a default
    assert seen(result.totals) == expected(result.period)
    assert (result.totals.orders, result.totals.repeat_buyers) == (3, 1)
    tea = next(row.figures for row in result.rows if row.figures.key == two_sales.tea_shop.pk)
    assert (tea.orders, tea.repeat_buyers) == (2, 1)
    body = response.content.decode()
    assert "2024-05-09 – 2026-05-08" in body
    assert body.count('data-testid="sales-row"') == 2
    exported = staff_client.get(reverse("association:sales-export"), {**params, "format": "csv"})
    assert exported.status_code == 200
    too_long = staff_client.get(
        reverse("association:sales"), {**params, "start": "2024-05-01", "end": "2026-05-08"}
    )
    assert too_long.context["review"].period.kind == MONTH  # over 732 days: said so, the month shown
    assert list(too_long.context["messages"])


def places_expected(period: Period, dimension: str, groups: dict, source: tuple, **filters: int) -> None:
    """The review by ``dimension`` under ``filters`` has exactly ``groups`` (key → the shops whose sales
    it holds), each with the figures computed from the orders."""
    rows = {row.figures.key: seen(row.figures) for row in review(period, dimension, **filters).rows}
    wanted = {key: expected(period, shops, source=source) for key, shops in groups.items()}
    assert rows == {key: figures for key, figures in wanted.items() if figures["orders"]}, (period, dimension)


def test_repeat_buyers_by_place_agree_with_the_orders_and_follow_a_moved_shop(years):
    """By village, town and county, within a place and with a place cut by a filter, over fixed and random
    periods: equal to the orders. A shop that moves village is counted in its new village at once (the
    chains by place are not used until a refresh has rebuilt them), and the refresh rebuilds them."""
    source = truth()
    tea, shoots, peach = years.tea_shop, years.shoots_shop, years.peach_shop
    town = tea.town_id
    for period in FIXED + random_periods(8):
        places_expected(period, TOWN, {town: {tea.pk, shoots.pk}, None: {peach.pk}}, source)
        places_expected(
            period, COUNTY, {years.suichang.pk: {tea.pk, shoots.pk}, peach.county_id: {peach.pk}}, source
        )
        places_expected(
            period,
            VILLAGE,
            {years.village_a.pk: {tea.pk}, years.village_b.pk: {shoots.pk}},
            source,
            county_id=years.suichang.pk,
        )
        # The town cut by a village filter: only the tea shop's buyers.
        places_expected(period, TOWN, {town: {tea.pk}}, source, village_id=years.village_a.pk)
        for filters, shops in (
            ({"town_id": town}, {tea.pk, shoots.pk}),
            ({"village_id": years.village_b.pk}, {shoots.pk}),
            ({"county_id": peach.county_id}, {peach.pk}),
            ({"county_id": years.suichang.pk, "village_id": years.village_a.pk}, {tea.pk}),
            ({"county_id": peach.county_id, "village_id": years.village_a.pk}, set()),
        ):
            assert seen(review(period, SHOP, **filters).totals) == expected(period, shops, source=source), (
                period,
                filters,
            )
    two_years = FIXED[0]
    assert expected(two_years, {tea.pk, shoots.pk}, source=source)["repeat_buyers"] > max(
        expected(two_years, {tea.pk}, source=source)["repeat_buyers"],
        expected(two_years, {shoots.pk}, source=source)["repeat_buyers"],
    )  # so a count by shop summed would not pass for the town's

    # The shoots shop, which sells a green tea too, moves to the tea shop's village.
    sold = sold_products()
    tea_root = years.green_tea.get_parent()
    in_tree = {product: {tea_root.pk} for product in Product.objects.filter(categories=years.green_tea)}
    in_tree = defaultdict(set, {product.pk: categories for product, categories in in_tree.items()})

    def tea_by_village_is_right() -> None:
        wanted = by_category_expected(two_years, sold, in_tree, {tea.pk, shoots.pk}).get(tea_root.pk)
        assert by_shop_seen(review(two_years, VILLAGE, category_id=tea_root.pk)) == {
            years.village_a.pk: wanted
        }

    type(shoots).objects.filter(pk=shoots.pk).update(village=years.village_a)
    for period in FIXED:
        places_expected(period, VILLAGE, {years.village_a.pk: {tea.pk, shoots.pk}, None: {peach.pk}}, source)
    tea_by_village_is_right()  # the chains by village and category tree are stale: not used
    sales_facts_refresh(day=datetime.date(2025, 3, 3), shop_ids=[peach.pk])  # any refresh
    assert ChainPlace.objects.get(shop=shoots).village_id == years.village_a.pk
    chains_follow_the_days()
    with CaptureQueriesContext(connection) as captured:
        places_expected(
            two_years, VILLAGE, {years.village_a.pk: {tea.pk, shoots.pk}, None: {peach.pk}}, source
        )
    assert not any("sales_buyersalesmonth" in q["sql"] for q in captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        tea_by_village_is_right()  # rebuilt: from the chains
    assert not any(
        "sales_categorysalesday" in q["sql"] and "buyer_key" in q["sql"] for q in captured.captured_queries
    )

"""The sales review's figures agree to the cent with a direct computation over the orders: refunds whole,
by line and by amount only, orders cancelled before and after payment, pre-sales, and sales either side
of a month end in Asia/Shanghai time."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest

from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition
from marketplace.payments.models import Refund
from marketplace.periods import CUSTOM, DAY, MONTH, SEASON, Period, period_of
from shops.sales.facts import sales_facts_rebuild, sales_facts_refresh
from shops.sales.models import BuyerSalesDay, CategorySalesDay, ProductSalesDay, SalesDay
from shops.sales.selectors import (
    CATEGORY,
    COUNTY,
    PRODUCT,
    SHOP,
    UNITEMISED,
    VILLAGE,
    SalesFilters,
    sales_review,
)
from tests.shops.sales.conftest import SHANGHAI, S, buyer, order_place, refund_make, sale, shop_order_of

D = Decimal
MARCH = period_of(MONTH, datetime.date(2026, 3, 1))
APRIL = period_of(MONTH, datetime.date(2026, 4, 1))


def direct(period: Period, *, shops=None) -> dict:
    """The figures computed straight from ShopOrder, its events, its lines and Refund rows."""
    sales = []
    for shop_order in ShopOrder.objects.all():
        if shops is not None and shop_order.shop_id not in shops:
            continue
        paid = shop_order.events.filter(to_status="paid").order_by("created_at").first()
        if paid is None:
            continue
        day = paid.created_at.astimezone(SHANGHAI).date()
        if period.start <= day <= period.end:
            sales.append((shop_order, day))
    goods = units = presale = D("0")
    for shop_order, day in sales:
        for line in shop_order.lines():
            goods += line.line_price_incl_tax
            units += line.quantity
            ship_from = line.product.presale_ship_from
            if ship_from is not None and ship_from > day:
                presale += line.line_price_incl_tax
    shipping = sum((so.shipping_charge for so, _day in sales), D("0"))
    refunds = D("0")
    for refund in Refund.objects.filter(status=Refund.Status.SUCCEEDED).select_related("shop_order"):
        if shops is not None and refund.shop_order.shop_id not in shops:
            continue
        if period.start <= refund.created_at.astimezone(SHANGHAI).date() <= period.end:
            refunds += refund.amount
    per_buyer = Counter(so.order.user_id or so.order.guest_email.lower() for so, _day in sales)
    gross = goods + shipping
    return {
        "orders": len(sales),
        "units": int(units),
        "gross": gross,
        "refunds": refunds,
        "net": gross - refunds,
        "presale_goods": presale,
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


@pytest.fixture
def trade(world):
    """A season of sales and refunds across the three shops."""
    first, second = buyer(), buyer()
    o1 = sale((world.tea, 2), (world.shoots, 3), paid_at="2026-03-05 10:00", user=first)  # shoots on pre-sale
    sale((world.tea, 1), paid_at="2026-03-20 09:00", user=first)  # the first buyer's 2nd sale at the tea shop
    o3 = sale((world.peaches, 1), paid_at="2026-03-31 23:30", email="lin@example.cn")  # 15:30 UTC: March
    sale(
        (world.peaches, 2), paid_at="2026-04-01 00:10", email="Lin@Example.cn"
    )  # 16:10 UTC on 31 March: April
    unpaid = order_place((world.tea, 1), (world.shoots, 1), user=second)
    for shop_order in ShopOrder.objects.filter(order=unpaid):
        shop_order_transition(shop_order_id=shop_order.pk, to_status=S.CANCELLED, reason="not paid in time")
    o6 = sale((world.shoots, 2), paid_at="2026-03-10 12:00", user=second)
    cancelled = shop_order_of(o6, world.shoots_shop)
    shop_order_transition(shop_order_id=cancelled.pk, to_status=S.CANCELLED, reason="out of stock")
    refund_make(cancelled, when="2026-03-11 08:00", amount=cancelled.total)  # the whole part, amount only
    tea_part = shop_order_of(o1, world.tea_shop)
    tea_line = tea_part.lines().get()
    refund_make(tea_part, when="2026-03-15 16:00", lines=[(tea_line, 1)])  # one box of two, by line
    refund_make(
        shop_order_of(o3, world.peach_shop), when="2026-04-02 10:00", amount=D("20.00")
    )  # amount only
    refund_make(
        tea_part, when="2026-03-16 10:00", amount=D("5.00"), status=Refund.Status.FAILED
    )  # not counted
    sale((world.shoots, 1), paid_at="2026-04-15 11:00", user=buyer())  # shipped from 10 April: no pre-sale
    sale((world.tea, 1), paid_at="2025-03-10 10:00", user=buyer())  # last year
    sale((world.tea, 3), paid_at="2026-02-27 10:00", user=buyer())  # the previous month
    sale((world.peaches, 1), paid_at="2025-12-15 10:00", user=buyer())  # winter, last year's December
    sales_facts_rebuild(since=datetime.date(2025, 3, 1), until=datetime.date(2026, 4, 30))
    return world


def review(period, dimension=SHOP, **filters):
    return sales_review(period=period, filters=SalesFilters(**filters), dimension=dimension)


@pytest.mark.parametrize("period", [MARCH, APRIL, period_of(MONTH, datetime.date(2026, 2, 1))])
def test_totals_agree_to_the_cent_with_the_orders(trade, period):
    figures = review(period).totals
    assert seen(figures) == direct(period)


def test_march_by_shop_agrees_with_each_shop(trade):
    rows = {row.figures.key: row.figures for row in review(MARCH).rows}
    for shop in (trade.tea_shop, trade.shoots_shop, trade.peach_shop):
        assert seen(rows[shop.pk]) == direct(MARCH, shops={shop.pk}), shop.name
    assert rows[trade.tea_shop.pk].label == "龙谷茶舍"


def test_the_figures_a_user_reads_for_march(trade):
    """The same numbers written out, so a mistake shared by the facts and the direct computation shows."""
    figures = review(MARCH).totals
    assert figures.orders == 5  # o1 is two sales (tea shop, shoots shop), o2, o3, o6; the unpaid one is none
    assert figures.units == 2 + 3 + 1 + 1 + 2
    assert figures.goods == D("196.00") + D("136.50") + D("98.00") + D("168.00") + D("91.00")
    assert figures.shipping == D("10.00") + D("8.00") + D("10.00") + D("15.00") + D("8.00")
    assert figures.refunds == (D("91.00") + D("8.00")) + D("98.00")  # cancelled part in full + one tea box
    assert figures.net == figures.gross - figures.refunds
    assert figures.presale_goods == D("136.50") + D("91.00")  # the shoots ship from 10 April
    assert figures.repeat_buyers == 1  # the first buyer (3 sales); the second paid only once
    assert figures.average_order_value == (figures.gross / 5).quantize(D("0.01"))


def test_a_sale_just_before_midnight_in_shanghai_is_in_that_day(trade):
    last_of_march = review(period_of(DAY, datetime.date(2026, 3, 31))).totals
    first_of_april = review(period_of(DAY, datetime.date(2026, 4, 1))).totals
    assert (last_of_march.orders, last_of_march.goods) == (1, D("168.00"))
    assert (first_of_april.orders, first_of_april.goods) == (1, D("336.00"))


def test_a_refund_counts_in_the_month_it_was_made(trade):
    april_peaches = [r.figures for r in review(APRIL).rows if r.figures.key == trade.peach_shop.pk][0]
    assert april_peaches.refunds == D("20.00")  # refunded in April for a March sale
    march_peaches = [r.figures for r in review(MARCH).rows if r.figures.key == trade.peach_shop.pk][0]
    assert march_peaches.refunds == D("0.00")


@pytest.mark.parametrize("dimension", [VILLAGE, COUNTY, CATEGORY, PRODUCT])
def test_every_breakdown_adds_up_to_the_total(trade, dimension):
    result = review(MARCH, dimension)
    for metric in ("gross", "refunds", "net", "presale_goods"):
        assert sum((getattr(r.figures, metric) for r in result.rows), D("0")) == getattr(
            result.totals, metric
        )
    units = [r.figures.units for r in result.rows if r.figures.units is not None]
    assert sum(units) == result.totals.units


def test_shipping_and_unitemised_refunds_have_their_own_row_by_product(trade):
    rows = {row.figures.key: row.figures for row in review(MARCH, PRODUCT).rows}
    rest = rows[UNITEMISED]
    assert rest.gross == D("51.00")  # the five sales' shipping
    assert rest.refunds == D("99.00")  # the cancelled part, refunded by amount
    assert (rest.orders, rest.units) == (None, None)
    tea = rows[trade.tea.pk]
    assert (tea.orders, tea.units, tea.gross, tea.refunds) == (2, 3, D("294.00"), D("98.00"))


def test_by_category_a_sale_counts_once_and_a_category_filter_keeps_only_its_goods(trade):
    rows = {row.figures.key: row.figures for row in review(MARCH, CATEGORY).rows}
    assert rows[trade.green_tea.pk].orders == 2
    dried = review(MARCH, SHOP, category_id=trade.dried_goods.pk)  # a parent category: its sub-categories
    assert dried.totals.orders == 2  # o1's and o6's shoots parts
    assert dried.totals.goods == D("136.50") + D("91.00")
    assert dried.totals.shipping == D("0.00")
    assert dried.totals.refunds == D("0.00")  # the cancelled part was refunded by amount, not by line


def test_filters_by_county_village_and_shop(trade):
    suichang = review(MARCH, SHOP, county_id=trade.suichang.pk)
    assert seen(suichang.totals) == direct(MARCH, shops={trade.tea_shop.pk, trade.shoots_shop.pk})
    assert {r.figures.label for r in suichang.rows} == {"龙谷茶舍", "独山笋干"}
    village = review(MARCH, VILLAGE, village_id=trade.village_b.pk)
    assert [r.figures.label for r in village.rows] == ["大柘村"]
    assert seen(review(MARCH, SHOP, shop_id=trade.peach_shop.pk).totals) == direct(
        MARCH, shops={trade.peach_shop.pk}
    )


def test_previous_period_and_last_year(trade):
    result = review(MARCH, SHOP, shop_id=trade.tea_shop.pk)
    assert result.previous == period_of(MONTH, datetime.date(2026, 2, 1))
    assert result.last_year == period_of(MONTH, datetime.date(2025, 3, 1))
    assert result.totals_previous.gross == D("3") * D("98.00") + D("10.00")
    assert result.totals_last_year.gross == D("108.00")
    gross = next(c for c in result.comparisons if c.metric == "gross")
    expected = ((result.totals.gross - D("304.00")) * 100 / D("304.00")).quantize(D("0.1"))
    assert gross.change_previous == expected
    row = result.rows[0]
    assert row.previous_net == D("304.00")


def test_winter_spans_the_year_end(trade):
    winter = period_of(SEASON, datetime.date(2026, 1, 20))
    assert (winter.start, winter.end) == (datetime.date(2025, 12, 1), datetime.date(2026, 2, 28))
    figures = review(winter).totals
    assert seen(figures) == direct(winter)
    assert figures.orders == 2  # December's peaches and February's tea; not March
    assert winter.previous().start == datetime.date(2025, 9, 1)
    assert winter.last_year() == Period(SEASON, datetime.date(2024, 12, 1), datetime.date(2025, 2, 28))


def test_custom_range_over_the_month_end(trade):
    span = Period(CUSTOM, datetime.date(2026, 3, 25), datetime.date(2026, 4, 5))
    assert seen(review(span).totals) == direct(span)
    assert span.previous() == Period(CUSTOM, datetime.date(2026, 3, 13), datetime.date(2026, 3, 24))


def test_rebuilding_again_changes_nothing(trade):
    def snapshot():
        return [
            sorted(model.objects.values_list(*fields))
            for model, fields in (
                (
                    SalesDay,
                    ("day", "shop_id", "sales", "units", "goods", "shipping", "refunds", "presale_goods"),
                ),
                (
                    ProductSalesDay,
                    ("day", "shop_id", "product_id", "sales", "units", "goods", "refunds_itemised"),
                ),
                (CategorySalesDay, ("day", "shop_id", "category_id", "scope", "buyer_key", "sales")),
                (BuyerSalesDay, ("day", "shop_id", "buyer_key", "sales")),
            )
        ]

    before = snapshot()
    sales_facts_rebuild(since=datetime.date(2025, 3, 1), until=datetime.date(2026, 4, 30))
    sales_facts_refresh(day=datetime.date(2026, 3, 5), shop_ids=[trade.tea_shop.pk])
    assert snapshot() == before
    assert SalesDay.objects.filter(day=datetime.date(2026, 3, 5)).count() == 2


def test_a_guest_is_counted_by_email_but_never_stored_as_one(trade):
    keys = set(BuyerSalesDay.objects.values_list("buyer_key", flat=True))
    assert not any("@" in key for key in keys)
    guest_keys = {k for k in keys if k.startswith("g")}
    assert len(guest_keys) == 1  # lin@example.cn and Lin@Example.cn are one buyer

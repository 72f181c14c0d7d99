"""One definition of a sale: the farmer console's sales, the association's sales review, the open data and
the monthly statement all read the sales ledger, and agree to the fen on the same orders: refunds whole,
by line and by amount, a part cancelled after payment, an order never paid, and sales either side of the
Asia/Shanghai midnight at a month's end."""

import datetime
from decimal import Decimal

import pytest

from marketplace.ledger.models import SaleEntry
from marketplace.order.models import ShopOrder
from marketplace.periods import MONTH, period_of
from shops.sales.facts import sales_facts_rebuild
from shops.sales.open_data import open_data
from shops.sales.selectors import SalesFilters, sales_review
from shops.selectors import shop_sales
from shops.settlement.models import Statement
from shops.settlement.services import statements_generate
from tests.factories import ProductFactory, ShopFactory
from tests.shops.sales.conftest import at, buyer, sale
from tests.shops.sales.test_figures import trade  # noqa: F401  (the fixture)

D = Decimal
ZERO = D("0.00")


@pytest.fixture
def county_trade(trade):  # noqa: F811  (the imported fixture)
    """The season of ``trade`` plus a third Suichang shop selling in March, so the open data publishes
    the county."""
    third = ShopFactory(county=trade.suichang)
    sale((ProductFactory(shop=third, stock=(D("45.50"), 20)), 2), paid_at="2026-03-31 23:59", user=buyer())
    sales_facts_rebuild(since=datetime.date(2025, 3, 1), until=datetime.date(2026, 4, 30))
    return trade, third


def console(shop, month_end: datetime.date) -> tuple[Decimal, Decimal, Decimal]:
    sales = shop_sales(shop=shop, today=month_end)
    return sales.month, sales.refunded, sales.month_net


def review(shop, period) -> tuple[Decimal, Decimal, Decimal]:
    totals = sales_review(period=period, filters=SalesFilters(shop_id=shop.pk), dimension="shop").totals
    return totals.gross, totals.refunds, totals.net


def statement(shop, month: datetime.date) -> tuple[Decimal, Decimal, Decimal]:
    found = Statement.objects.filter(shop=shop, period=month).first()
    if found is None:
        return ZERO, ZERO, ZERO
    return found.sales, found.refunds, found.sales - found.refunds


@pytest.mark.parametrize("month", [datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)])
def test_console_review_open_data_and_statement_agree_to_the_fen(county_trade, month):
    world, third = county_trade
    period = period_of(MONTH, month)
    # Everything before the month is settled first, as the monthly run would have done.
    statements_generate(month=datetime.date(2026, 2, 1), today=datetime.date(2026, 5, 2))
    statements_generate(month=datetime.date(2026, 3, 1), today=datetime.date(2026, 5, 2))
    if month.month == 4:
        statements_generate(month=month, today=datetime.date(2026, 5, 2))

    county_shops = [world.tea_shop, world.shoots_shop, third]
    county = (ZERO, ZERO, ZERO)
    for shop in [*county_shops, world.peach_shop]:
        ledger = SaleEntry.objects.filter(shop=shop, day__gte=period.start, day__lte=period.end)
        gross = sum((e.amount for e in ledger if e.kind == SaleEntry.Kind.SALE), ZERO)
        refunds = -sum((e.amount for e in ledger if e.kind == SaleEntry.Kind.REFUND), ZERO)
        expected = (gross, refunds, gross - refunds)
        assert console(shop, period.end) == expected, shop.name
        assert review(shop, period) == expected, shop.name
        assert statement(shop, month) == expected, shop.name
        if shop in county_shops:
            county = tuple(a + b for a, b in zip(county, expected, strict=True))

    published = next(m for m in open_data() if m.month == month)
    (suichang,) = [row for row in published.by_county if row.name == world.suichang.name]
    # (Whether the row is published or withheld is the open data's privacy rule; its figures are these.)
    assert (suichang.gross, suichang.net) == (county[0], county[2])


def test_the_figures_are_the_corrected_ones(county_trade):
    """What the ledger holds for March, worked by hand from ``trade``: the part cancelled after payment
    counts as a sale and its refund as a refund (the console used to drop both), the unpaid order counts
    nowhere, and the peaches paid at 23:30 on 31 March count in March, those at 00:10 on 1 April in April."""
    world, _third = county_trade
    cancelled = ShopOrder.objects.filter(status=ShopOrder.Status.CANCELLED)
    paid_then_cancelled = cancelled.get(shop=world.shoots_shop, events__to_status=ShopOrder.Status.PAID)
    never_paid = cancelled.exclude(events__to_status=ShopOrder.Status.PAID)
    assert never_paid.count() == 2
    assert not SaleEntry.objects.filter(shop_order__in=never_paid).exists()
    march = datetime.date(2026, 3, 31)
    shoots_march = sum(
        (
            so.total
            for so in ShopOrder.objects.filter(
                shop=world.shoots_shop,
                events__to_status="paid",
                events__created_at__gte=at("2026-03-01 00:00"),
                events__created_at__lt=at("2026-04-01 00:00"),
            )
        ),
        ZERO,
    )
    assert console(world.shoots_shop, march) == (
        shoots_march,
        paid_then_cancelled.total,
        shoots_march - paid_then_cancelled.total,
    )
    peach_march, _r, _n = console(world.peach_shop, datetime.date(2026, 3, 31))
    peach_april, peach_refunds, _n = console(world.peach_shop, datetime.date(2026, 4, 30))
    peaches = ShopOrder.objects.filter(shop=world.peach_shop, events__to_status="paid")
    march_peach = peaches.get(events__created_at=at("2026-03-31 23:30"))
    april_peach = peaches.get(events__created_at=at("2026-04-01 00:10"))
    assert (peach_march, peach_april, peach_refunds) == (march_peach.total, april_peach.total, D("20.00"))

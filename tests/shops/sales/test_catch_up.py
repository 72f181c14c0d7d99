"""Paid orders reach the sales facts as pending shop days, caught up in one rebuild per day however many
orders arrived meanwhile, with the chains of only the buyers who bought: the facts then equal a full
rebuild from the source rows, and a redelivered event changes nothing."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from shops.sales.facts import buyer_key, sales_facts_catch_up, sales_facts_pending_add, sales_facts_rebuild
from shops.sales.models import (
    BuyerSalesChain,
    BuyerSalesChainMonth,
    BuyerSalesDay,
    BuyerSalesMonth,
    CategorySalesDay,
    ProductSalesDay,
    SalesDay,
    SalesFactsPending,
    SalesMonth,
)
from shops.sales.subscribers import facts_after_sale
from tests.shops.sales.conftest import buyer, sale

FACTS = (
    SalesDay,
    ProductSalesDay,
    CategorySalesDay,
    BuyerSalesDay,
    SalesMonth,
    BuyerSalesMonth,
    BuyerSalesChain,
    BuyerSalesChainMonth,
)
DAY = datetime.date(2026, 3, 10)


def facts() -> dict[str, list[tuple]]:
    """Every fact row, without its id."""
    return {
        model.__name__: sorted(
            (tuple(row) for row in model.objects.values_list(*[f.attname for f in model._meta.fields[1:]])),
            key=repr,
        )
        for model in FACTS
    }


def truth() -> dict[str, list[tuple]]:
    sales_facts_rebuild(since=datetime.date(2026, 1, 1), until=datetime.date(2026, 4, 30))
    return facts()


def pending_of(order, day=DAY) -> None:
    shop_ids = sorted({line.partner_id for line in order.lines.all()})
    key = buyer_key(user_id=order.user_id, email=order.guest_email or "")
    sales_facts_pending_add(day=day, shop_ids=shop_ids, buyer_key=key)


def test_a_burst_of_orders_is_caught_up_in_one_rebuild_equal_to_a_full_one(world):
    regular = buyer()
    sale((world.tea, 1), paid_at="2026-02-03 10:00", user=regular)  # an earlier sale: a repeat buyer
    sales_facts_rebuild(since=datetime.date(2026, 1, 1), until=datetime.date(2026, 4, 30))
    first = sale((world.tea, 2), (world.peaches, 1), paid_at="2026-03-10 09:00", user=regular)
    pending_of(first)
    with CaptureQueriesContext(connection) as one:
        assert sales_facts_catch_up() == 1
    assert not SalesFactsPending.objects.exists()

    # Three more orders at two shops by two buyers, one of them a guest, while no catch-up ran.
    orders = [
        sale((world.shoots, 1), paid_at="2026-03-10 11:00", user=regular),
        sale((world.tea, 1), paid_at="2026-03-10 12:00", email="guest7@example.cn"),
        sale((world.peaches, 3), paid_at="2026-03-10 13:00", email="guest7@example.cn"),
    ]
    for order in orders:
        pending_of(order)
    assert SalesFactsPending.objects.count() == 3  # one shop each
    with CaptureQueriesContext(connection) as three:
        assert sales_facts_catch_up() == 1  # one day rebuilt, once
    assert len(three.captured_queries) == len(one.captured_queries)
    assert not SalesFactsPending.objects.exists()
    caught_up = facts()
    assert caught_up["BuyerSalesChain"], "the repeat buyer's chains were built"
    assert caught_up == truth()


def test_nothing_pending_rebuilds_nothing(world):
    with CaptureQueriesContext(connection) as captured:
        assert sales_facts_catch_up() == 0
    assert not any("DELETE" in q["sql"] or "INSERT" in q["sql"] for q in captured.captured_queries)


def test_the_paid_event_and_its_redelivery_leave_the_facts_of_a_full_rebuild(world):
    regular = buyer()
    sale((world.tea, 1), paid_at="2026-02-03 10:00", user=regular)
    sales_facts_rebuild(since=datetime.date(2026, 1, 1), until=datetime.date(2026, 4, 30))
    order = sale((world.tea, 1), (world.shoots, 2), paid_at="2026-03-10 10:00", user=regular)
    payload = {
        "order_id": order.pk,
        "shop_order_ids": [],
        "shop_ids": sorted({line.partner_id for line in order.lines.all()}),
        "day": DAY.isoformat(),
    }
    facts_after_sale(str(order.pk), payload)  # what the outbox delivers
    delivered = facts()
    assert delivered["SalesDay"]
    facts_after_sale(str(order.pk), payload)  # delivered again (a redelivered message)
    assert facts() == delivered == truth()
    assert not SalesFactsPending.objects.exists()

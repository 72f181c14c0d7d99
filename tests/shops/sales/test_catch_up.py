"""Paid orders reach the sales facts as pending shop days, caught up in one rebuild per day however many
orders arrived meanwhile, with the chains of only the buyers who bought: the facts then equal a full
rebuild from the source rows, and a redelivered event changes nothing."""

import datetime
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from shops.sales.facts import buyer_key, sales_facts_catch_up, sales_facts_pending_add, sales_facts_rebuild
from shops.sales.models import (
    BuyerSalesChain,
    BuyerSalesChainMonth,
    BuyerSalesDay,
    BuyerSalesMonth,
    CategorySalesDay,
    CategorySalesMonth,
    ProductSalesDay,
    ProductSalesMonth,
    SaleCounted,
    SalesDay,
    SalesFactsPending,
    SalesMonth,
)
from shops.sales.subscribers import facts_after_sale, facts_after_sales
from tests.shops.sales.conftest import buyer, refund_make, sale, shop_order_of

FACTS = (
    SalesDay,
    ProductSalesDay,
    CategorySalesDay,
    BuyerSalesDay,
    SalesMonth,
    BuyerSalesMonth,
    ProductSalesMonth,
    CategorySalesMonth,
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


def paid_payload(order, day=DAY) -> dict:
    """The "order.paid" event's payload, as marketplace.order.shop_orders.order_paid writes it."""
    parts = list(order.shop_orders.order_by("pk"))
    return {
        "order_id": order.pk,
        "shop_order_ids": [part.pk for part in parts],
        "shop_ids": sorted({part.shop_id for part in parts}),
        "day": day.isoformat(),
    }


def test_sales_added_one_by_one_equal_a_full_rebuild(world):
    """Each sale is added to the facts its day already has (a refund of the day among them, which an
    addition leaves alone): the same rows as a rebuild, new products, buyers and categories included."""
    regular = buyer()
    sale((world.tea, 1), paid_at="2026-02-03 10:00", user=regular)  # an earlier month: a repeat buyer
    earlier = sale((world.tea, 2), (world.peaches, 1), paid_at="2026-03-10 08:00", user=regular)
    refund_make(shop_order_of(earlier, world.tea_shop), when="2026-03-10 09:00", amount=Decimal("5.00"))
    sales_facts_rebuild(since=datetime.date(2026, 1, 1), until=datetime.date(2026, 4, 30))
    orders = [
        sale((world.tea, 1), paid_at="2026-03-10 11:00", user=regular),  # rows that exist: added to
        sale((world.shoots, 2), (world.peaches, 3), paid_at="2026-03-10 12:00", email="guest7@example.cn"),
        sale((world.tea, 1), paid_at="2026-03-10 13:00", email="guest7@example.cn"),
    ]
    for order in orders:
        facts_after_sale(str(order.pk), paid_payload(order))
    assert not SalesFactsPending.objects.exists()
    added = facts()
    assert added["SalesDay"]
    assert added["BuyerSalesChain"]
    assert added == truth()


def test_orders_delivered_together_are_caught_up_once_and_equal_a_full_rebuild(world):
    """The outbox hands a worker several paid orders at once (``run_many``): their sales are noted and
    caught up in one go, the same facts as a rebuild, in no more statements than two orders one by one."""
    regular = buyer()
    sale((world.tea, 1), paid_at="2026-02-03 10:00", user=regular)  # an earlier month: a repeat buyer
    sales_facts_rebuild(since=datetime.date(2026, 1, 1), until=datetime.date(2026, 4, 30))
    single = sale((world.peaches, 1), paid_at="2026-03-10 08:00", email="alone@example.cn")
    with CaptureQueriesContext(connection) as one:
        facts_after_sale(str(single.pk), paid_payload(single))
    orders = [
        sale((world.tea, 1), paid_at="2026-03-10 11:00", user=regular),
        sale((world.shoots, 2), (world.peaches, 3), paid_at="2026-03-10 12:00", email="guest7@example.cn"),
        sale((world.tea, 1), paid_at="2026-03-10 13:00", email="guest7@example.cn"),
        sale((world.shoots, 1), paid_at="2026-03-10 14:00", user=regular),
    ]
    events = [(str(order.pk), paid_payload(order)) for order in orders]
    with CaptureQueriesContext(connection) as together:
        facts_after_sales(events)
    assert not SalesFactsPending.objects.exists()
    assert SaleCounted.objects.filter(shop_order__order__in=orders).count() == 5
    assert facts() == truth()
    # One catch-up for the four (each adds only its pending note): fewer than two single deliveries.
    assert len(together.captured_queries) < 2 * len(one.captured_queries), (
        len(together.captured_queries),
        len(one.captured_queries),
    )
    facts_after_sales(events)  # delivered again: nothing added twice
    assert facts() == truth()


def test_adding_a_sale_reads_the_same_whatever_the_days_other_sales(world):
    counts = []
    for earlier, day in ((1, DAY), (8, DAY + datetime.timedelta(days=1))):
        for _ in range(earlier):
            sale(
                (world.tea, 1), (world.shoots, 1), paid_at=f"{day} 08:00", email=f"early{earlier}@example.cn"
            )
        sales_facts_rebuild(since=day, until=day)
        late = f"late{earlier}@example.cn"  # a new buyer each time: the same rows made and added to
        order = sale((world.tea, 1), (world.shoots, 1), paid_at=f"{day} 12:00", email=late)
        sales_facts_pending_add(
            day=day,
            shop_ids=paid_payload(order, day)["shop_ids"],
            buyer_key=buyer_key(user_id=None, email=late),
            sales={part.pk: part.shop_id for part in order.shop_orders.all()},
        )
        with CaptureQueriesContext(connection) as captured:
            assert sales_facts_catch_up() == 1
        counts.append(len(captured.captured_queries))
        # The buyer's chains: one DELETE per chain table and one INSERT for all five scopes (the rows
        # seen from a month start need none here: no month starts within these facts' days).
        chain_writes = [
            q["sql"].split()[0]
            for q in captured.captured_queries
            if q["sql"].split()[0] in ("DELETE", "INSERT")
            and "sales_buyersaleschain" in q["sql"].split("SELECT")[0]
        ]
        assert sorted(chain_writes) == ["DELETE", "DELETE", "INSERT"], chain_writes
        assert facts() == truth()
    assert counts[0] == counts[1], counts


def test_a_sale_a_rebuild_counted_first_is_not_added_again_nor_on_redelivery(world):
    order = sale((world.tea, 1), (world.shoots, 2), paid_at="2026-03-10 10:00", email="once@example.cn")
    rebuilt = truth()  # the nightly rebuild ran before the paid event was delivered: the sale is in it
    assert SaleCounted.objects.filter(shop_order__order=order).count() == 2
    facts_after_sale(str(order.pk), paid_payload(order))
    assert facts() == rebuilt
    facts_after_sale(str(order.pk), paid_payload(order))  # delivered again
    assert facts() == rebuilt
    assert not SalesFactsPending.objects.exists()

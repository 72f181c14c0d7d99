"""Stock is never oversold: allocation re-checks availability as it writes, a basket is allocated
whole or not at all, and concurrent buyers of the last boxes cannot all win."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from oscar.core.loading import get_model

from marketplace.partner.stock import SoldOut, StockRequest, stock_allocate, stock_release
from tests.factories import ProductFactory
from tests.postgres import postgresql_only

StockRecord = get_model("partner", "StockRecord")


def record_of(product):
    return StockRecord.objects.get(product=product)


@pytest.mark.django_db
def test_allocation_takes_what_is_there_and_refuses_more():
    record = record_of(ProductFactory(stock=(Decimal("168.00"), 5)))
    stock_allocate(requests=[StockRequest(record.pk, 3)])
    with pytest.raises(SoldOut) as sold_out:
        stock_allocate(requests=[StockRequest(record.pk, 3)])
    assert sold_out.value.stockrecord_ids == [record.pk]
    stock_allocate(requests=[StockRequest(record.pk, 2)])
    record.refresh_from_db()
    assert (record.num_allocated, record.net_stock_level) == (5, 0)


@pytest.mark.django_db
def test_a_basket_is_allocated_whole_or_not_at_all():
    peaches = record_of(ProductFactory(stock=(Decimal("168.00"), 5)))
    tea = record_of(ProductFactory(stock=(Decimal("98.00"), 1)))
    with pytest.raises(SoldOut) as sold_out:
        stock_allocate(requests=[StockRequest(peaches.pk, 2), StockRequest(tea.pk, 2)])
    assert sold_out.value.stockrecord_ids == [tea.pk]
    peaches.refresh_from_db()
    tea.refresh_from_db()
    assert (peaches.num_allocated or 0, tea.num_allocated or 0) == (0, 0)


@pytest.mark.django_db
def test_the_same_record_twice_in_a_basket_counts_as_one_request():
    record = record_of(ProductFactory(stock=(Decimal("10.00"), 3)))
    with pytest.raises(SoldOut):
        stock_allocate(requests=[StockRequest(record.pk, 2), StockRequest(record.pk, 2)])


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1])
def test_non_positive_quantities_are_refused(quantity):
    record = record_of(ProductFactory())
    with pytest.raises(ValueError, match="positive"):
        stock_allocate(requests=[StockRequest(record.pk, quantity)])


@pytest.mark.django_db
def test_release_gives_back_and_never_goes_below_zero():
    record = record_of(ProductFactory(stock=(Decimal("10.00"), 5)))
    stock_allocate(requests=[StockRequest(record.pk, 4)])
    stock_release(requests=[StockRequest(record.pk, 3)])
    stock_release(requests=[StockRequest(record.pk, 3)])  # more than held: ignored
    record.refresh_from_db()
    assert record.num_allocated == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_for_the_last_five_boxes_on_postgresql():
    postgresql_only()
    record = record_of(ProductFactory(stock=(Decimal("168.00"), 5)))
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buyer() -> None:
        try:
            start.wait()
            with transaction.atomic():
                stock_allocate(requests=[StockRequest(record.pk, 1)])
            result = "allocated"
        except SoldOut:
            result = "sold out"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buyer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    record.refresh_from_db()
    assert sorted(outcomes).count("allocated") == 5
    assert outcomes.count("sold out") == 15
    assert record.num_allocated == 5
    assert record.net_stock_level == 0

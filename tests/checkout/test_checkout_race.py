"""Twenty buyers press "place order" at once for the last five boxes (real transactions on PostgreSQL)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model

from marketplace.checkout.services import DeliveryAddress, checkout_place
from marketplace.order.models import ShopOrder
from marketplace.partner.stock import SoldOut
from marketplace.payments.models import Payment
from tests.factories import ProductFactory
from tests.postgres import postgresql_only

Basket = get_model("basket", "Basket")
Order = get_model("order", "Order")
StockRecord = get_model("partner", "StockRecord")

ADDRESS = DeliveryAddress(
    recipient="王小明",
    phone="+8613800138000",
    province="上海市",
    city="上海市",
    county="浦东新区",
    street="世纪大道 1 号",
)


@pytest.mark.django_db(transaction=True)
def test_twenty_checkouts_for_five_boxes_place_exactly_five_orders():
    postgresql_only()
    peaches = ProductFactory(stock=(Decimal("168.00"), 5))
    baskets = []
    for _ in range(20):
        basket = Basket.objects.create()
        basket.strategy = Default()
        basket.add_product(peaches, 1)
        baskets.append(basket)
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buyer(basket) -> None:
        try:
            basket.strategy = Default()
            start.wait()
            checkout_place(basket=basket, user=None, email="buyer@example.cn", address=ADDRESS)
            result = "placed"
        except SoldOut:
            result = "sold out"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buyer, args=(basket,)) for basket in baskets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    record = StockRecord.objects.get(product=peaches)
    assert outcomes.count("placed") == 5
    assert outcomes.count("sold out") == 15
    assert Order.objects.count() == 5
    assert ShopOrder.objects.count() == 5
    assert record.num_allocated == 5
    assert record.net_stock_level == 0
    assert not Payment.objects.exists()  # losers never reach Stripe: no intent to capture or cancel


@pytest.mark.django_db(transaction=True)
def test_the_stock_rows_are_locked_last_just_before_the_commit():
    """Buyers of the same produce queue on its stock row from the allocation to the commit: the
    allocation is the transaction's last write, so they wait for one UPDATE, not for the whole order's
    forty-odd statements (the checkout benchmark's hot products, docs/performance.md)."""
    peaches = ProductFactory(stock=(Decimal("168.00"), 5))
    tea = ProductFactory(stock=(Decimal("98.00"), 5))
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(peaches, 1)
    basket.add_product(tea, 2)
    with CaptureQueriesContext(connection) as captured:
        checkout_place(basket=basket, user=None, email="buyer@example.cn", address=ADDRESS)
    statements = [q["sql"] for q in captured.captured_queries]
    stock = [i for i, sql in enumerate(statements) if sql.startswith('UPDATE "partner_stockrecord"')]
    assert len(stock) == 2
    after = statements[stock[0] :]
    rest = [sql for sql in after[2:] if not sql.startswith(("RELEASE SAVEPOINT", "SAVEPOINT"))]
    assert rest in ([], ["COMMIT"]), rest
    assert StockRecord.objects.get(product=peaches).num_allocated == 1

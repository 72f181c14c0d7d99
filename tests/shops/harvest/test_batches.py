"""Harvest batches: recording one, and paid order lines drawing from them first picked first drawn."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model

from marketplace.checkout.services import DeliveryAddress, checkout_place
from marketplace.order.cancellation import shop_order_cancel
from marketplace.order.shop_orders import order_paid
from shops.harvest.models import HarvestBatch, LineDraw, ParcelTrace
from shops.harvest.services import BatchRejected, NewBatch, batch_draws_settle, harvest_batch_record
from shops.orchard.models import Plot
from tests.checkout.conftest import ADDRESS
from tests.factories import ProductFactory, ShopFactory
from tests.payments.conftest import card_from_browser
from tests.postgres import postgresql_only

Basket = get_model("basket", "Basket")
Order = get_model("order", "Order")
Region = get_model("places", "Region")

pytestmark = pytest.mark.django_db

BOX_G = 2500  # a 2.5 kg box of peaches


@pytest.fixture(autouse=True)
def shanghai(db):
    Region.objects.get_or_create(code="310000", defaults={"name": "上海市", "level": Region.Level.PROVINCE})


@pytest.fixture
def shop():
    return ShopFactory(name="桃源果园")


@pytest.fixture
def peaches(shop):
    return ProductFactory(
        title="阳山水蜜桃 2.5千克", shop=shop, net_weight_g=BOX_G, stock=(Decimal("98"), 100)
    )


@pytest.fixture
def plot(shop):
    return Plot.objects.create(shop=shop, name="东坡一号", name_en="East slope 1")


def batch(shop, products, plot, kg: str, days_ago: int = 0) -> HarvestBatch:
    return harvest_batch_record(
        shop_id=shop.pk,
        new=NewBatch(
            products=tuple(products),
            plot=plot,
            picked_on=timezone.localdate() - datetime.timedelta(days=days_ago),
            quantity_kg=Decimal(kg),
            grade="premium",
            brix=Decimal("13.5"),
        ),
    )


def paid(*lines):
    """A guest's order of ``lines`` ((product, quantity) …), placed through the checkout and paid."""
    basket = Basket.objects.create()
    basket.strategy = Default()
    for product, quantity in lines:
        basket.add_product(product, quantity)
    address = DeliveryAddress("王小明", "+8613800138000", "上海市", "上海市", "浦东新区", "世纪大道 100 号")
    order = checkout_place(basket=basket, user=None, email="buyer@example.cn", address=address)
    with transaction.atomic():
        order_paid(order_id=order.pk, reason="test")
    return order


def drawn(order) -> dict[str, int]:
    """Batch number → grams the order's lines drew from it."""
    return {
        d.batch.number: d.grams for d in LineDraw.objects.filter(line__order=order).select_related("batch")
    }


def test_a_paid_line_draws_from_the_earliest_picked_batch_first(
    shop, peaches, plot, django_capture_on_commit_callbacks
):
    older = batch(shop, [peaches], plot, "5", days_ago=2)  # two boxes' worth
    newer = batch(shop, [peaches], plot, "100", days_ago=1)
    with django_capture_on_commit_callbacks(execute=True):
        order = paid((peaches, 3))  # 7.5 kg: 5 from the older, 2.5 from the newer
    assert drawn(order) == {older.number: 5000, newer.number: 2500}
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.remaining_g, newer.remaining_g) == (0, 97500)
    assert ParcelTrace.objects.filter(shop_order__order=order).count() == 1


def test_a_pre_sale_line_is_bound_when_its_batch_is_picked(
    shop, peaches, plot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = paid((peaches, 2))
    assert drawn(order) == {}
    picked = batch(shop, [peaches], plot, "20")
    assert drawn(order) == {picked.number: 5000}
    assert picked.drawn_g == 5000


def test_a_short_batch_draws_what_it_has_and_the_rest_waits(
    shop, peaches, plot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = paid((peaches, 2))
    first = batch(shop, [peaches], plot, "3")
    assert drawn(order) == {first.number: 3000}
    second = batch(shop, [peaches], plot, "10")
    assert drawn(order) == {first.number: 3000, second.number: 2000}


def test_settling_twice_draws_nothing_more(shop, peaches, plot, django_capture_on_commit_callbacks):
    batch(shop, [peaches], plot, "50")
    with django_capture_on_commit_callbacks(execute=True):
        order = paid((peaches, 2))
    before = drawn(order)
    assert batch_draws_settle(shop_id=shop.pk) == 0
    assert drawn(order) == before


def test_a_cancelled_paid_parcel_gives_its_grams_back(
    client, stripe_settings, localstripe, shop, peaches, plot, django_capture_on_commit_callbacks
):
    picked = batch(shop, [peaches], plot, "10")
    client.post(reverse("basket:add", kwargs={"pk": peaches.pk}), {"quantity": 2})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("checkout:index"),
            {**ADDRESS, "payment_method": card_from_browser(localstripe, "4242424242424242")},
        )
    order = Order.objects.get()
    picked.refresh_from_db()
    assert picked.drawn_g == 5000
    with django_capture_on_commit_callbacks(execute=True):
        shop_order_cancel(shop_order_id=order.shop_orders.get().pk, reason="果子被冰雹打坏")
    picked.refresh_from_db()
    assert picked.drawn_g == 0
    assert drawn(order) == {}


def test_another_shops_listing_or_plot_is_refused(shop, peaches, plot):
    other = ShopFactory(name="龙谷茶舍")
    foreign_tea = ProductFactory(shop=other, net_weight_g=250)
    with pytest.raises(BatchRejected):
        batch(shop, [foreign_tea], plot, "5")
    foreign_plot = Plot.objects.create(shop=other, name="茶园")
    with pytest.raises(BatchRejected):
        batch(shop, [peaches], foreign_plot, "5")
    assert not HarvestBatch.objects.exists()


@pytest.mark.parametrize(
    ("kg", "days_ago"),
    [("0", 0), ("-1", 0), ("100001", 0), ("5", -1), ("5", 61)],
    ids=["zero", "negative", "too much", "future", "too old"],
)
def test_impossible_quantities_and_dates_are_refused(shop, peaches, plot, kg, days_ago):
    with pytest.raises(BatchRejected):
        batch(shop, [peaches], plot, kg, days_ago=days_ago)
    assert not HarvestBatch.objects.exists()


def test_a_listing_without_a_net_weight_is_refused_with_its_name(shop, plot):
    unweighed = ProductFactory(shop=shop, title="散装笋干", net_weight_g=None)
    with pytest.raises(BatchRejected, match="散装笋干"):
        batch(shop, [unweighed], plot, "5")


@pytest.mark.django_db(transaction=True)
def test_concurrent_draws_never_draw_the_same_grams_twice_on_postgresql(shanghai):
    postgresql_only()
    shop = ShopFactory(name="桃源果园")
    peaches = ProductFactory(shop=shop, net_weight_g=BOX_G, stock=(Decimal("98"), 100))
    orders = [paid((peaches, 1)) for _ in range(8)]  # 8 boxes, 20 kg, paid before any batch: all pending
    # 12.5 kg picked in two batches, written straight to the table so that nothing draws yet.
    batches = []
    for kg, days_ago in (("7.5", 1), ("5", 0)):
        b = HarvestBatch.objects.create(
            shop=shop,
            picked_on=timezone.localdate() - datetime.timedelta(days=days_ago),
            quantity_g=int(Decimal(kg) * 1000),
        )
        b.products.add(peaches)
        batches.append(b)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def settle() -> None:
        try:
            start.wait()
            batch_draws_settle(shop_id=shop.pk)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for b in batches:
        b.refresh_from_db()
    assert [b.drawn_g for b in batches] == [7500, 5000]  # both batches used up, neither overdrawn
    per_line = [sum(LineDraw.objects.filter(line__order=o).values_list("grams", flat=True)) for o in orders]
    # The five oldest orders get a box each, first from the earlier batch; the three newest wait.
    assert per_line == [BOX_G] * 5 + [0] * 3
    assert sum(LineDraw.objects.values_list("grams", flat=True)) == 12500

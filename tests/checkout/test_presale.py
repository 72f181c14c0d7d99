"""Pre-sale produce sells against its quota and ships from its date."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model

from marketplace.checkout.services import checkout_place
from marketplace.partner.stock import SoldOut
from tests.checkout.test_checkout_race import ADDRESS
from tests.factories import ProductFactory

Basket = get_model("basket", "Basket")

pytestmark = pytest.mark.django_db


@pytest.fixture
def presale_peaches():
    ship_from = timezone.localdate() + datetime.timedelta(days=40)
    # The stock record's stock is the pre-sale quota: 3 boxes before harvest.
    return ProductFactory(title="湖景蜜露 预售", presale_ship_from=ship_from, stock=(Decimal("188.00"), 3))


def basket_of(product, quantity):
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(product, quantity)
    return basket


def test_the_shop_order_ships_on_the_presale_date(presale_peaches):
    order = checkout_place(
        basket=basket_of(presale_peaches, 2), user=None, email="b@example.cn", address=ADDRESS
    )
    assert order.shop_orders.get().ships_on == presale_peaches.presale_ship_from


def test_the_quota_cannot_be_oversold(presale_peaches):
    checkout_place(basket=basket_of(presale_peaches, 2), user=None, email="b@example.cn", address=ADDRESS)
    with pytest.raises(SoldOut):
        checkout_place(basket=basket_of(presale_peaches, 2), user=None, email="c@example.cn", address=ADDRESS)


def test_the_ship_from_date_is_shown(client, presale_peaches):
    page = client.get(presale_peaches.get_absolute_url()).content.decode()
    assert presale_peaches.presale_ship_from.isoformat() in page
    assert 'data-testid="presale"' in client.get(reverse("catalogue:index")).content.decode()


def test_goods_in_stock_ship_today():
    product = ProductFactory(stock=(Decimal("20.00"), 5))
    order = checkout_place(basket=basket_of(product, 1), user=None, email="b@example.cn", address=ADDRESS)
    assert order.shop_orders.get().ships_on == timezone.localdate()

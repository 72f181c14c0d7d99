"""Two village shops, each with a farmer, a listing and (on request) a buyer's paid order placed through
the real checkout and paid with localstripe's test card."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory

from shops.services import farmer_attach
from tests.checkout.conftest import ADDRESS, provinces  # noqa: F401  (shared fixtures)
from tests.factories import ProductFactory, ShopFactory
from tests.payments.conftest import card_from_browser, localstripe, stripe_settings  # noqa: F401  (shared fixtures)

Order = get_model("order", "Order")


@dataclass
class ShopWorld:
    shop: object
    farmer: object
    client: Client
    product: object


def shop_world(name: str, title: str, price: str, stock: int) -> ShopWorld:
    shop = ShopFactory(name=name)
    farmer = UserFactory(email=f"{shop.code}@farm.example.cn")
    farmer_attach(shop=shop, user=farmer)
    client = Client()
    client.force_login(farmer)
    product = ProductFactory(title=title, shop=shop, stock=(Decimal(price), stock), net_weight_g=2500)
    return ShopWorld(shop=shop, farmer=farmer, client=client, product=product)


@pytest.fixture
def shop_a(db):
    return shop_world("桃源果园", "阳山水蜜桃 6只装", "168.00", 20)


@pytest.fixture
def shop_b(db):
    return shop_world("龙谷茶舍", "龙谷丽人茶 250克", "98.00", 20)


def order_paid(stripe_url: str, *lines: tuple[object, int]):
    """A guest buyer puts ``lines`` in the basket, checks out and pays with the 4242 card."""
    buyer = Client()
    for product, quantity in lines:
        response = buyer.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": quantity})
        assert response.status_code == 302
    response = buyer.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(stripe_url, "4242424242424242")},
    )
    assert response.status_code == 302, response.content
    return Order.objects.order_by("-pk").first()


@pytest.fixture
def paid_order(stripe_settings, localstripe, shop_a, shop_b):  # noqa: F811  (the imported fixtures)
    """One buyer's paid order with 2 boxes from shop A and 1 from shop B."""
    return order_paid(localstripe, (shop_a.product, 2), (shop_b.product, 1))

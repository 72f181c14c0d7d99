from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from marketplace.order.shop_orders import shop_orders_create
from tests.factories import ProductFactory, ShopFactory
from tests.payments.conftest import localstripe, stripe_settings, wechat_pay_on  # noqa: F401  (shared fixtures)

ADDRESS = {
    "email": "buyer@example.cn",
    "recipient": "王小明",
    "phone": "138 0013 8000",
    "province": "上海市",
    "city": "上海市",
    "county": "浦东新区",
    "street": "世纪大道 100 号",
}


@pytest.fixture(autouse=True)
def provinces(db):
    Region = get_model("places", "Region")
    for code, name in (
        ("310000", "上海市"),
        ("320000", "江苏省"),
        ("330000", "浙江省"),
        ("650000", "新疆维吾尔自治区"),
    ):
        Region.objects.get_or_create(code=code, defaults={"name": name, "level": Region.Level.PROVINCE})


@pytest.fixture
def basket_from_two_shops(client):
    peaches = ProductFactory(
        title="阳山水蜜桃", shop=ShopFactory(name="桃源果园"), perishable=True, stock=(Decimal("168.00"), 5)
    )
    tea = ProductFactory(
        title="龙谷丽人茶", shop=ShopFactory(name="龙谷茶舍"), perishable=False, stock=(Decimal("98.00"), 5)
    )
    for product, quantity in ((peaches, 1), (tea, 2)):
        response = client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": quantity})
        assert response.status_code == 302
    return peaches, tea


def order_from_two_shops(user, peach_shop=None, tea_shop=None):
    """A signed-in buyer's order of peaches and tea, split into its two shop orders (no payment)."""
    peaches = ProductFactory(shop=peach_shop or ShopFactory(name="桃源果园"), stock=(Decimal("168.00"), 10))
    tea = ProductFactory(
        title="龙谷丽人茶", shop=tea_shop or ShopFactory(name="龙谷茶舍"), stock=(Decimal("98.00"), 10)
    )
    basket = get_model("basket", "Basket").objects.create(owner=user)
    basket.strategy = Default()
    basket.add_product(peaches, 1)
    basket.add_product(tea, 2)
    order = create_order(basket=basket, user=user)
    shop_orders_create(order=order)
    return order

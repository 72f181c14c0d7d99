"""The demo's region tree and logistics partners, shops in a Yangshan and a Suichang village, and paid shop
orders placed through the checkout service (payment is not what these tests are about: the shop orders are
moved to paid by the one transition function)."""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model

from fixtures.loader import logistics_load, region_path_resolve, regions_load
from marketplace.checkout.services import DeliveryAddress, checkout_place
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition
from marketplace.places.divisions import divisions_load
from tests.factories import ProductFactory, ShopFactory
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (shared fixtures)

Basket = get_model("basket", "Basket")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

SHANGHAI = DeliveryAddress("王小明", "+8613800138000", "上海市", "上海市", "浦东新区", "世纪大道 100 号")
URUMQI = DeliveryAddress(
    "阿依古丽", "+8613900139000", "新疆维吾尔自治区", "乌鲁木齐市", "天山区", "人民路 1 号"
)


@pytest.fixture
def demo_logistics(db):
    regions_load(rows=yaml.safe_load((FIXTURES / "regions.yaml").read_text(encoding="utf-8")))
    divisions_load()
    logistics_load(rows=yaml.safe_load((FIXTURES / "logistics.yaml").read_text(encoding="utf-8"))["partners"])


def shop_in(path: str, **fields):
    province, city, county, town, village = region_path_resolve(names=path.split())
    return ShopFactory(province=province, city=city, county=county, town=town, village=village, **fields)


@pytest.fixture
def peach_shop(demo_logistics):
    return shop_in("江苏省 无锡市 惠山区 阳山镇 桃源村", name="桃源果园")


@pytest.fixture
def tea_shop(demo_logistics):
    return shop_in("浙江省 丽水市 遂昌县 大柘镇 大田村", name="大田茶园")


@pytest.fixture
def peaches(peach_shop):
    return ProductFactory(
        title="阳山水蜜桃 6只装",
        shop=peach_shop,
        perishable=True,
        net_weight_g=2500,
        stock=(Decimal("168"), 500),
    )


@pytest.fixture
def tea(tea_shop):
    return ProductFactory(
        title="龙谷丽人茶", shop=tea_shop, perishable=False, net_weight_g=250, stock=(Decimal("98"), 500)
    )


def paid_shop_order(product, *, address=SHANGHAI, quantity=1) -> ShopOrder:
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(product, quantity)
    order = checkout_place(basket=basket, user=None, email="buyer@example.cn", address=address)
    shop_order = order.shop_orders.get()
    shop_order_transition(shop_order_id=shop_order.pk, to_status=ShopOrder.Status.PAID, reason="test")
    return shop_order

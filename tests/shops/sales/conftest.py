"""A small marketplace for the sales review: shops in two Suichang villages and in Yangshan, tea, bamboo
shoots (on pre-sale) and peaches, and helpers that place sales and refunds at chosen Asia/Shanghai times.
The expected figures in the tests are computed directly from ShopOrder, Line and Refund rows."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory, create_order

from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition, shop_orders_create
from marketplace.payments.models import Payment, Refund, RefundLine
from marketplace.shipping.models import ShippingRule
from tests.factories import (
    ProductFactory,
    RegionFactory,
    ShopFactory,
    category,
    paid_move_date,
    refund_date,
    region_chain,
)

Basket = get_model("basket", "Basket")
Region = get_model("places", "Region")
SHANGHAI = ZoneInfo("Asia/Shanghai")
S = ShopOrder.Status


def at(text: str) -> datetime.datetime:
    """A wall-clock time in Asia/Shanghai, e.g. "2026-03-31 23:30"."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass
class World:
    suichang: object
    yangshan: object
    village_a: object
    village_b: object
    tea_shop: object
    shoots_shop: object
    peach_shop: object
    tea: object
    shoots: object
    peaches: object
    green_tea: object
    dried_goods: object
    fruit: object


@pytest.fixture
def world(db) -> World:
    chain = region_chain()
    village_b = RegionFactory(
        name="大柘村", name_en="Dazhe", level=Region.Level.VILLAGE, parent=chain["town"]
    )
    jiangsu = RegionFactory(name="江苏省", code="320000", level=Region.Level.PROVINCE)
    wuxi = RegionFactory(name="无锡市", code="320200", level=Region.Level.CITY, parent=jiangsu)
    huishan = RegionFactory(name="惠山区", code="320206", level=Region.Level.COUNTY, parent=wuxi)
    tea_root = category("茶叶", "Tea")
    green_tea = category("绿茶", "Green tea", parent=tea_root)
    dried_root = category("山货干货", "Dried goods")
    shoots_cat = category("笋干", "Dried bamboo shoots", parent=dried_root)
    fruit = category("鲜果", "Fresh fruit")
    in_suichang = {"province": chain["province"], "city": chain["city"], "county": chain["county"]}
    tea_shop = ShopFactory(name="龙谷茶舍", town=chain["town"], village=chain["village"], **in_suichang)
    shoots_shop = ShopFactory(name="独山笋干", town=chain["town"], village=village_b, **in_suichang)
    peach_shop = ShopFactory(name="桃源果园", province=jiangsu, city=wuxi, county=huishan)
    for shop, charge in ((tea_shop, "10.00"), (shoots_shop, "8.00"), (peach_shop, "15.00")):
        ShippingRule.objects.create(shop=shop, flat_charge=Decimal(charge))
    tea = ProductFactory(title="龙谷丽人茶", shop=tea_shop, stock=(Decimal("98.00"), 500), perishable=False)
    shoots = ProductFactory(
        title="笋干",
        shop=shoots_shop,
        stock=(Decimal("45.50"), 500),
        perishable=False,
        presale_ship_from=datetime.date(2026, 4, 10),
    )
    peaches = ProductFactory(title="阳山水蜜桃", shop=peach_shop, stock=(Decimal("168.00"), 500))
    tea.categories.set([green_tea])
    shoots.categories.set([shoots_cat])
    peaches.categories.set([fruit])
    return World(
        suichang=chain["county"],
        yangshan=huishan,
        village_a=chain["village"],
        village_b=village_b,
        tea_shop=tea_shop,
        shoots_shop=shoots_shop,
        peach_shop=peach_shop,
        tea=tea,
        shoots=shoots,
        peaches=peaches,
        green_tea=green_tea,
        dried_goods=dried_root,
        fruit=fruit,
    )


def order_place(*lines, user=None, email="guest@example.cn"):
    """A buyer's order of ``lines`` ((product, quantity), …) split into shop orders, not yet paid."""
    basket = Basket.objects.create(owner=user)
    basket.strategy = Default()
    for product, quantity in lines:
        basket.add_product(product, quantity)
    order = create_order(basket=basket, user=user, **({} if user else {"guest_email": email}))
    shop_orders_create(order=order)
    return order


def order_pay(order, paid_at: datetime.datetime) -> None:
    """Pay ``order``: every shop order moves to PAID through the one transition function, and the move
    is dated ``paid_at``."""
    Payment.objects.create(
        order=order,
        intent_id=f"pi_test_{order.pk}",
        client_secret="secret",
        amount=order.total_incl_tax,
        currency="CNY",
        status=Payment.Status.SUCCEEDED,
        paid_at=paid_at,
    )
    for shop_order in ShopOrder.objects.filter(order=order):
        event = shop_order_transition(shop_order_id=shop_order.pk, to_status=S.PAID, reason="test")
        paid_move_date(event, paid_at)


def sale(*lines, paid_at: str, user=None, email="guest@example.cn"):
    order = order_place(*lines, user=user, email=email)
    order_pay(order, at(paid_at))
    return order


def refund_make(shop_order, *, when: str, amount: Decimal | None = None, lines=None, status=None) -> Refund:
    """A refund of ``shop_order`` as the refund service records it: by ``lines`` ((line, quantity), …)
    at the price paid, or of ``amount`` only."""
    priced = [
        (line, q, (line.unit_price_incl_tax * q).quantize(Decimal("0.01"))) for line, q in (lines or [])
    ]
    if priced:
        amount = sum(a for _l, _q, a in priced)
    refund = Refund.objects.create(
        shop_order=shop_order,
        payment=Payment.objects.get(order_id=shop_order.order_id),
        amount=amount,
        status=status or Refund.Status.SUCCEEDED,
    )
    RefundLine.objects.bulk_create(
        [RefundLine(refund=refund, line=line, quantity=q, amount=a) for line, q, a in priced]
    )
    refund_date(refund, at(when))
    return refund


def shop_order_of(order, shop) -> ShopOrder:
    return ShopOrder.objects.get(order=order, shop=shop)


def buyer():
    """A signed-up buyer (no password: hashing one is slow and nobody signs in here)."""
    return UserFactory(password=None)

"""Sales and refunds at chosen Asia/Shanghai times, made through the real services (shop orders split
by marketplace.order.shop_orders, moved to "paid" by shop_order_transition); only their recorded times
are set, as if they had happened then. Stripe-backed flows (checkout, refunds, transfers) use the
shared localstripe."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition, shop_orders_create
from marketplace.payments.models import Payment, Refund, RefundLine
from marketplace.shipping.models import ShippingRule
from tests.factories import ProductFactory, ShopFactory, category, paid_move_date, refund_date
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (shared fixtures)

Basket = get_model("basket", "Basket")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime.datetime:
    """'2026-03-31 23:30' in Asia/Shanghai."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def sale(shop, *lines: tuple[object, int], paid_at: datetime.datetime) -> ShopOrder:
    """A buyer's order of ``lines`` from ``shop`` (one shop order), paid at ``paid_at``."""
    basket = Basket.objects.create()
    basket.strategy = Default()
    for product, quantity in lines:
        basket.add_product(product, quantity)
    order = create_order(basket=basket)
    (shop_order,) = shop_orders_create(order=order)
    event = shop_order_transition(shop_order_id=shop_order.pk, to_status=ShopOrder.Status.PAID, reason="test")
    paid_move_date(event, paid_at)
    Payment.objects.create(
        order=order,
        intent_id=f"pi_test_{order.number}",
        client_secret="x",
        amount=order.total_incl_tax,
        currency="CNY",
        status=Payment.Status.SUCCEEDED,
        paid_at=paid_at,
    )
    shop_order.refresh_from_db()
    return shop_order


def refund(shop_order: ShopOrder, *, on: datetime.datetime, amount=None, lines=None) -> Refund:
    """A succeeded refund of ``amount`` (or of ``lines``: {order line: quantity}) recorded at ``on``, as
    payments.services.shop_order_refund leaves it once Stripe said yes."""
    priced = [(line, q, line.unit_price_incl_tax * q) for line, q in (lines or {}).items()]
    total = sum((a for _l, _q, a in priced), Decimal("0")) if priced else Decimal(amount)
    made = Refund.objects.create(
        shop_order=shop_order,
        payment=Payment.objects.get(order_id=shop_order.order_id),
        amount=total,
        stripe_refund_id=f"re_test_{shop_order.pk}_{Refund.objects.count()}",
        status=Refund.Status.SUCCEEDED,
    )
    RefundLine.objects.bulk_create(
        [RefundLine(refund=made, line=line, quantity=q, amount=a) for line, q, a in priced]
    )
    refund_date(made, on)
    made.refresh_from_db()
    return made


@pytest.fixture
def catalogue(db):
    fruit = category("鲜果", "Fresh fruit")
    peaches = category("水蜜桃", "Honey peaches", parent=fruit)
    tea = category("茶叶", "Tea")
    green = category("绿茶", "Green tea", parent=tea)
    return {"fruit": fruit, "peaches": peaches, "tea": tea, "green": green}


@pytest.fixture
def shop(db, catalogue):
    """A shop selling peaches (¥168.00) and green tea (¥98.50), with ¥12.00 flat shipping."""
    shop = ShopFactory(name="桃源果园", code="taoyuan")
    ShippingRule.objects.create(shop=shop, kind=ShippingRule.Kind.FLAT, flat_charge=Decimal("12.00"))
    peach = ProductFactory(title="阳山水蜜桃 6只装", shop=shop, stock=(Decimal("168.00"), 1000))
    peach.categories.add(catalogue["peaches"])
    tea = ProductFactory(title="龙谷丽人茶 250克", shop=shop, stock=(Decimal("98.50"), 1000))
    tea.categories.add(catalogue["green"])
    shop.peach, shop.tea = peach, tea
    return shop


@pytest.fixture
def fresh_stripe(stripe_settings, localstripe):  # noqa: F811  (the imported fixtures)
    """localstripe emptied, as a new Stripe account would be: the test database starts again from
    primary key 1 in every test, so an idempotency key such as ``statement-1-payout`` used by an
    earlier test must not be found (Stripe keeps keys for 24 hours)."""
    requests.delete(f"{localstripe}/_config/data", timeout=10).raise_for_status()
    return stripe_settings

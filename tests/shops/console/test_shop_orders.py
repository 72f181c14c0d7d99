from decimal import Decimal

import pytest
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from marketplace.order.models import ShopOrder, ShopOrderEvent
from marketplace.order.shop_orders import (
    ShopOrderTransitionError,
    order_status_derived,
    shop_order_transition,
    shop_orders_create,
)
from marketplace.shipping.models import ShippingRule
from tests.factories import ProductFactory, ShopFactory

Basket = get_model("basket", "Basket")
S = ShopOrder.Status

pytestmark = pytest.mark.django_db


def basket_of(*products_and_quantities):
    from oscar.apps.partner.strategy import Default

    basket = Basket.objects.create()
    basket.strategy = Default()
    for product, quantity in products_and_quantities:
        basket.add_product(product, quantity)
    return basket


@pytest.fixture
def two_shop_order():
    peach_shop = ShopFactory(name="桃源果园")
    tea_shop = ShopFactory(name="龙谷茶舍")
    ShippingRule.objects.create(shop=tea_shop, kind="flat", flat_charge=Decimal("8"))
    peaches = ProductFactory(
        shop=peach_shop, perishable=True, net_weight_g=2500, stock=(Decimal("168.00"), 10)
    )
    tea = ProductFactory(
        title="龙谷丽人茶", shop=tea_shop, perishable=False, net_weight_g=250, stock=(Decimal("98.00"), 10)
    )
    order = create_order(basket=basket_of((peaches, 1), (tea, 2)))
    return order, peach_shop, tea_shop


def test_an_order_from_two_shops_becomes_two_shop_orders_with_their_own_shipping(two_shop_order):
    order, peach_shop, tea_shop = two_shop_order
    by_shop = {so.shop: so for so in shop_orders_create(order=order)}

    assert set(by_shop) == {peach_shop, tea_shop}
    peaches_part, tea_part = by_shop[peach_shop], by_shop[tea_shop]
    assert peaches_part.lines_total == Decimal("168.00")
    assert peaches_part.shipping_charge == Decimal("30.00")  # default rule: ¥12 + ¥18 cold chain
    assert peaches_part.needs_cold_chain
    assert tea_part.lines_total == Decimal("196.00")
    assert tea_part.shipping_charge == Decimal("8.00")  # the tea shop's own flat rule
    assert [line.product.title for line in tea_part.lines()] == ["龙谷丽人茶"]
    assert {so.status for so in by_shop.values()} == {S.PENDING_PAYMENT}


def test_the_rules_the_checkout_priced_with_are_used_and_a_shop_missing_from_them_has_its_own_read(
    two_shop_order,
):
    """The checkout passes the rules its total was worked out with (read before the order's transaction):
    the shop orders charge what the buyer was shown, even if the shop changed its rule meanwhile."""
    order, peach_shop, tea_shop = two_shop_order
    shown = ShippingRule(shop=peach_shop, kind="flat", flat_charge=Decimal("5"), cold_chain_surcharge=0)
    ShippingRule.objects.filter(shop=tea_shop).update(flat_charge=Decimal("9"))  # after the buyer saw ¥8

    by_shop = {so.shop_id: so for so in shop_orders_create(order=order, rules={peach_shop.pk: shown})}

    assert by_shop[peach_shop.pk].shipping_charge == Decimal("5.00")  # as passed, not the default's ¥30
    assert by_shop[tea_shop.pk].shipping_charge == Decimal("9.00")  # not passed: read now


def test_with_every_shops_rule_passed_no_rule_is_read(two_shop_order, django_assert_num_queries):
    order, peach_shop, tea_shop = two_shop_order
    rules = {peach_shop.pk: None, tea_shop.pk: ShippingRule.objects.get(shop=tea_shop)}
    with django_assert_num_queries(4):  # split already? the lines; the shop orders and their events
        by_shop = {so.shop_id: so for so in shop_orders_create(order=order, rules=rules)}
    assert by_shop[peach_shop.pk].shipping_charge == Decimal("30.00")  # None: the default rule
    assert by_shop[tea_shop.pk].shipping_charge == Decimal("8.00")


def test_splitting_twice_creates_nothing_new(two_shop_order):
    order, *_ = two_shop_order
    first = shop_orders_create(order=order)
    assert shop_orders_create(order=order) == first
    assert ShopOrder.objects.filter(order=order).count() == 2


def test_a_shop_order_moves_only_along_the_table_and_every_move_is_recorded(
    two_shop_order, django_user_model
):
    order, *_ = two_shop_order
    farmer = django_user_model.objects.create_user("farmer", "f@example.cn", "pw")
    shop_order = shop_orders_create(order=order)[0]

    for status in (S.PAID, S.ACCEPTED, S.PACKED, S.HANDED_OVER, S.IN_TRANSIT, S.DELIVERED):
        shop_order_transition(shop_order_id=shop_order.pk, to_status=status, actor=farmer)

    moves = list(ShopOrderEvent.objects.filter(shop_order=shop_order).values_list("from_status", "to_status"))
    assert moves[-1] == (S.IN_TRANSIT, S.DELIVERED)
    assert len(moves) == 7  # placed + six moves
    with pytest.raises(ShopOrderTransitionError):
        shop_order_transition(shop_order_id=shop_order.pk, to_status=S.PAID)


@pytest.mark.parametrize(("start_path", "target"), [((), S.ACCEPTED), ((S.PAID, S.ACCEPTED), S.DELIVERED)])
def test_skipping_steps_is_refused_and_changes_nothing(two_shop_order, start_path, target):
    order, *_ = two_shop_order
    shop_order = shop_orders_create(order=order)[0]
    for status in start_path:
        shop_order_transition(shop_order_id=shop_order.pk, to_status=status)
    before = ShopOrderEvent.objects.count()
    with pytest.raises(ShopOrderTransitionError):
        shop_order_transition(shop_order_id=shop_order.pk, to_status=target)
    shop_order.refresh_from_db()
    assert shop_order.status == (start_path[-1] if start_path else S.PENDING_PAYMENT)
    assert ShopOrderEvent.objects.count() == before


def test_cancelling_needs_a_reason(two_shop_order):
    order, *_ = two_shop_order
    shop_order = shop_orders_create(order=order)[0]
    with pytest.raises(ShopOrderTransitionError):
        shop_order_transition(shop_order_id=shop_order.pk, to_status=S.CANCELLED, reason="  ")
    shop_order_transition(shop_order_id=shop_order.pk, to_status=S.CANCELLED, reason="缺货")
    shop_order.refresh_from_db()
    assert shop_order.status == S.CANCELLED


@pytest.mark.parametrize(
    ("statuses", "derived"),
    [
        ([S.PAID, S.PENDING_PAYMENT], S.PENDING_PAYMENT),
        ([S.DELIVERED, S.PACKED], S.PACKED),
        ([S.DELIVERED, S.CANCELLED], S.DELIVERED),
        ([S.CANCELLED, S.REFUNDED], S.CANCELLED),
        ([S.REFUNDED, S.REFUNDED], S.REFUNDED),
    ],
)
def test_the_buyers_order_status_follows_its_least_advanced_live_part(statuses, derived):
    assert order_status_derived(statuses) == derived

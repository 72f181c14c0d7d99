"""A signed-in buyer sees each shop's part of an order with its status and refunds."""

import re

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.order.cancellation import shop_order_cancel
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition
from tests.checkout.conftest import ADDRESS, order_from_two_shops
from tests.payments.conftest import card_from_browser

Order = get_model("order", "Order")
S = ShopOrder.Status

pytestmark = pytest.mark.django_db


def test_order_history_shows_each_shop_order_and_its_refund(
    client, django_user_model, stripe_settings, localstripe, basket_from_two_shops
):
    buyer = django_user_model.objects.create_user("buyer", "buyer@example.cn", "pw")
    client.force_login(buyer)
    peaches, tea = basket_from_two_shops
    # The basket was filled before signing in; Oscar merges it into the buyer's basket.
    client.post(
        reverse("checkout:index"),
        {**ADDRESS, "email": "", "payment_method": card_from_browser(localstripe, "4242424242424242")},
    )
    order = Order.objects.get(user=buyer)
    shop_order_cancel(shop_order_id=order.shop_orders.get(shop=tea.shop).pk, reason="茶叶受潮")

    page = client.get(reverse("customer:order", kwargs={"order_number": order.number}))

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="buyer-shop-order"') == 2
    assert "已付款" in html  # the peaches' part: paid
    assert "已退款" in html  # the tea's part: refunded
    assert "茶叶受潮" in html
    assert 'data-testid="buyer-order-status"' in html  # one part paid, one refunded: the order is "paid"
    assert "订单状态: <strong>已付款</strong>" in html.replace("：", ": ")


def test_another_buyers_order_is_not_shown(
    client, django_user_model, stripe_settings, localstripe, basket_from_two_shops
):
    client.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(localstripe, "4242424242424242")},
    )
    order = Order.objects.get()
    stranger = django_user_model.objects.create_user("someone", "someone@example.cn", "pw")
    client.force_login(stranger)
    assert client.get(reverse("customer:order", kwargs={"order_number": order.number})).status_code == 404


def order_cards(html: str) -> dict[str, str]:
    """The order history's cards by the order page they link to."""
    cards = html.split('data-testid="buyer-order"')[1:]
    return {re.search(r'href="([^"]+)"', card)[1]: card for card in cards}


def test_order_history_shows_each_orders_derived_status_and_each_shops_part(client, django_user_model):
    buyer = django_user_model.objects.create_user("buyer", "buyer@example.cn", "pw")
    under_way = order_from_two_shops(buyer)
    for part in under_way.shop_orders.all():
        shop_order_transition(shop_order_id=part.pk, to_status=S.PAID)
    peach_part = under_way.shop_orders.get(shop__name="桃源果园")
    shop_order_transition(shop_order_id=peach_part.pk, to_status=S.ACCEPTED)
    unpaid = order_from_two_shops(buyer)
    client.force_login(buyer)

    page = client.get(reverse("customer:order-list"))

    assert page.status_code == 200
    cards = order_cards(page.content.decode())
    assert len(cards) == 2
    # The tea is paid, the peaches already accepted: the order is as far as its least advanced part.
    card = cards[reverse("customer:order", kwargs={"order_number": under_way.number})]
    assert 'data-testid="buyer-order-status">已付款<' in card
    assert "桃源果园: 已接单" in card
    assert "龙谷茶舍: 已付款" in card
    assert "¥" in card
    card = cards[reverse("customer:order", kwargs={"order_number": unpaid.number})]
    assert 'data-testid="buyer-order-status">待付款<' in card
    assert card.count("待付款") == 3  # the order and both its parts

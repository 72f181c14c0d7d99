"""The checkout page end to end with the Django client and a real localstripe (Stripe.js's part is
done by the test: it asks localstripe for a card token with the publishable key, as the browser does)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.checkout.forms import CheckoutForm
from marketplace.order.models import ShopOrder
from marketplace.payments.models import Payment
from tests.checkout.conftest import ADDRESS
from tests.payments.conftest import card_from_browser

Order = get_model("order", "Order")
StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.django_db


def test_checkout_shows_the_basket_grouped_by_shop_with_its_own_shipping(client, basket_from_two_shops):
    response = client.get(reverse("checkout:index"))
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [g.shop.name for g in groups] == ["桃源果园", "龙谷茶舍"]
    assert [g.shipping.charge for g in groups] == [Decimal("30.00"), Decimal("12.00")]  # cold chain + default
    assert response.context["order_total"] == Decimal("168.00") + Decimal("196.00") + Decimal("42.00")


def test_a_good_card_places_one_paid_order_split_into_two_shop_orders(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    peaches, tea = basket_from_two_shops
    card = card_from_browser(localstripe, "4242424242424242")

    response = client.post(reverse("checkout:index"), {**ADDRESS, "payment_method": card})

    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("checkout:thank-you", kwargs={"number": order.number})
    assert order.total_incl_tax == Decimal("406.00")
    assert order.guest_email == "buyer@example.cn"
    assert str(order.shipping_address.phone_number) == "+8613800138000"
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    assert sorted(order.shop_orders.values_list("shop__name", "status")) == [
        ("桃源果园", ShopOrder.Status.PAID),
        ("龙谷茶舍", ShopOrder.Status.PAID),
    ]
    assert StockRecord.objects.get(product=tea).num_allocated == 2
    page = client.get(response.url)
    assert page.status_code == 200
    assert len(page.context["shop_orders"]) == 2
    assert page.context["paid"]


def test_a_declined_card_leaves_an_unpaid_order_and_a_clear_message(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    card = card_from_browser(localstripe, "4000000000000341")
    response = client.post(reverse("checkout:index"), {**ADDRESS, "payment_method": card}, follow=True)

    order = Order.objects.get()
    assert response.request["PATH_INFO"] == reverse("checkout:pay", kwargs={"number": order.number})
    # Said in the buyer's language (Chinese by default), not in Stripe's English words.
    page = response.content.decode()
    assert "您的银行卡被拒绝" in page
    assert "Your card was declined" not in page
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.PENDING_PAYMENT}

    second = client.post(
        reverse("checkout:pay", kwargs={"number": order.number}),
        {"payment_method": card_from_browser(localstripe, "4242424242424242")},
    )
    assert second.url == reverse("checkout:thank-you", kwargs={"number": order.number})
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.PAID}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "12345"),
        ("phone", "0571-8888888"),
        ("recipient", ""),
        ("email", "not-an-email"),
        ("street", ""),
    ],
)
def test_a_bad_address_gets_a_clear_error_and_creates_nothing(client, basket_from_two_shops, field, value):
    response = client.post(reverse("checkout:index"), {**ADDRESS, field: value, "payment_method": "card_x1"})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("posted", "field"),
    [
        ({"payment_method": "'; DROP TABLE"}, "payment_method"),
        ({"payment_method": ""}, "payment_method"),
        # WeChat Pay switched off: neither the choice nor a payment method named like it gets through.
        ({"pay_with": "wechat_pay"}, "pay_with"),
        ({"pay_with": "wechat_pay", "payment_method": "wechat_pay"}, "pay_with"),
        ({"payment_method": "wechat_pay"}, "payment_method"),
        ({"pay_with": "alipay", "payment_method": "card_x1"}, "pay_with"),
    ],
)
def test_a_tampered_payment_method_is_refused(client, settings, basket_from_two_shops, posted, field):
    settings.STRIPE_WECHAT_PAY = False
    response = client.post(reverse("checkout:index"), {**ADDRESS, **posted})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Order.objects.exists()


def test_the_last_box_gone_meanwhile_means_sold_out_and_nothing_created(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    peaches, _tea = basket_from_two_shops
    StockRecord.objects.filter(product=peaches).update(num_allocated=5)  # another buyer took them
    response = client.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(localstripe, "4242424242424242")},
    )
    assert response.status_code == 200
    assert "阳山水蜜桃" in str(response.context["form"].non_field_errors())
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert StockRecord.objects.get(product=_tea).num_allocated in (None, 0)


def test_someone_elses_order_is_not_found(client, stripe_settings, localstripe, basket_from_two_shops):
    client.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(localstripe, "4000000000000341")},
    )
    order = Order.objects.get()
    from django.test import Client

    stranger = Client()
    assert stranger.get(reverse("checkout:pay", kwargs={"number": order.number})).status_code == 404
    assert stranger.get(reverse("checkout:thank-you", kwargs={"number": order.number})).status_code == 404


def test_an_empty_basket_goes_back_to_the_basket(client):
    response = client.get(reverse("checkout:index"))
    assert response.status_code == 302
    assert response.url == reverse("basket:summary")


def test_a_signed_in_buyers_address_is_kept_and_offered_next_time(
    client, django_user_model, stripe_settings, localstripe, basket_from_two_shops
):
    buyer = django_user_model.objects.create_user("buyer", "buyer@example.cn", "pw")
    client.force_login(buyer)
    first = client.post(
        reverse("checkout:index"),
        {**ADDRESS, "email": "", "payment_method": card_from_browser(localstripe, "4242424242424242")},
    )
    assert first.status_code == 302

    peaches, _tea = basket_from_two_shops
    client.post(reverse("basket:add", kwargs={"pk": peaches.pk}), {"quantity": 1})
    form = client.get(reverse("checkout:index")).context["form"]
    assert form.initial["street"] == ADDRESS["street"]
    assert form.initial["phone"] == "13800138000"
    assert buyer.addresses.count() == 1


def test_a_buyer_with_two_saved_addresses_is_offered_both_the_last_used_first(
    client, django_user_model, stripe_settings, localstripe, basket_from_two_shops
):
    buyer = django_user_model.objects.create_user("buyer", "buyer@example.cn", "pw")
    client.force_login(buyer)
    peaches, _tea = basket_from_two_shops
    office = {**ADDRESS, "recipient": "王小明（公司）", "street": "陆家嘴环路 1000 号"}
    for address in (ADDRESS, office):
        response = client.post(
            reverse("checkout:index"),
            {**address, "email": "", "payment_method": card_from_browser(localstripe, "4242424242424242")},
        )
        assert response.status_code == 302
        client.post(reverse("basket:add", kwargs={"pk": peaches.pk}), {"quantity": 1})

    page = client.get(reverse("checkout:index"))

    assert [saved["street"] for saved in page.context["saved_addresses"]] == [
        office["street"],
        ADDRESS["street"],
    ]
    assert page.context["form"].initial["street"] == office["street"]
    assert page.content.decode().count('data-testid="saved-address"') == 2
    assert 'data-phone="13800138000"' in page.content.decode()


def test_the_basket_page_shows_each_shops_shipping_and_their_sum(client, basket_from_two_shops):
    page = client.get(reverse("basket:summary")).content.decode()
    assert page.count('data-testid="basket-shop-shipping"') == 2
    assert "¥30.00" in page  # the peaches' cold-chain parcel
    assert "¥42.00" in page  # both parcels: the same shipping the checkout will charge


def test_a_declined_card_leaves_the_stock_untouched_and_a_new_card_takes_it_again(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    peaches, tea = basket_from_two_shops
    client.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(localstripe, "4000000000000341")},
    )
    order = Order.objects.get()
    assert [StockRecord.objects.get(product=p).num_allocated or 0 for p in (peaches, tea)] == [0, 0]

    client.post(
        reverse("checkout:pay", kwargs={"number": order.number}),
        {"payment_method": card_from_browser(localstripe, "4242424242424242")},
    )
    assert [StockRecord.objects.get(product=p).num_allocated for p in (peaches, tea)] == [1, 2]
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.PAID}


def test_paying_again_after_the_last_boxes_went_charges_nothing(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    peaches, _tea = basket_from_two_shops
    client.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(localstripe, "4000000000000341")},
    )
    order = Order.objects.get()
    StockRecord.objects.filter(product=peaches).update(num_allocated=5)  # sold to someone else meanwhile

    response = client.post(
        reverse("checkout:pay", kwargs={"number": order.number}),
        {"payment_method": card_from_browser(localstripe, "4242424242424242")},
        follow=True,
    )
    assert "sold out" in response.content.decode().lower() or "售罄" in response.content.decode()
    assert not Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).exists()
    assert StockRecord.objects.get(product=peaches).num_allocated == 5


@pytest.mark.parametrize(
    ("typed", "kept"), [("上海市", "上海市"), ("新疆", "新疆维吾尔自治区"), ("浙江", "浙江省")]
)
def test_the_province_is_one_of_chinas(client, basket_from_two_shops, typed, kept):
    form = CheckoutForm({**ADDRESS, "province": typed, "payment_method": "card_x1"}, guest=True)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["province"] == kept


@pytest.mark.parametrize("typed", ["Atlantis", "火星省", "上"])
def test_an_unknown_province_is_refused(client, basket_from_two_shops, typed):
    response = client.post(
        reverse("checkout:index"), {**ADDRESS, "province": typed, "payment_method": "card_x1"}
    )
    assert response.context["form"].errors["province"]
    assert not Order.objects.exists()

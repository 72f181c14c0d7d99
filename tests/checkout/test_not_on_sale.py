"""Nothing the storefront would not show can be bought: not added by a hand-made POST, not raised in the
basket, not placed; a line whose shop was suspended after it entered the basket is flagged and blocks
placing until it is removed."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from shops.services import shop_status_change
from tests.checkout.conftest import ADDRESS
from tests.checkout.test_basket_page import form_fields
from tests.factories import ProductFactory, ShopFactory

Line = get_model("basket", "Line")
Order = get_model("order", "Order")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
Payment = get_model("payments", "Payment")

pytestmark = pytest.mark.django_db


def suspend(shop) -> None:
    shop_status_change(shop_id=shop.pk, to_status=Partner.Status.SUSPENDED, reason="食品安全抽检不合格")


def unlisted(status: str):
    product = ProductFactory(shop=ShopFactory(), stock=(Decimal("20.00"), 5))
    Product.objects.filter(pk=product.pk).update(listing_status=status, is_public=False)
    return product


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: unlisted(Product.ListingStatus.PAUSED), id="paused"),
        pytest.param(lambda: unlisted(Product.ListingStatus.AWAITING_REVIEW), id="awaiting-review"),
        pytest.param(lambda: unlisted(Product.ListingStatus.SENT_BACK), id="sent-back"),
        pytest.param(
            lambda: ProductFactory(shop=ShopFactory(status=Partner.Status.APPLIED), stock=(Decimal("20"), 5)),
            id="shop-not-approved",
        ),
    ],
)
def test_a_product_the_storefront_does_not_show_cannot_be_added(client, make):
    product = make()

    response = client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1}, follow=True)

    assert not Line.objects.exists()
    assert "not on sale" in response.content.decode() or "暂不出售" in response.content.decode()


def test_a_suspended_shops_product_cannot_be_added(client):
    product = ProductFactory(shop=ShopFactory(), stock=(Decimal("20.00"), 5))
    suspend(product.shop)

    client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1})

    assert not Line.objects.exists()


def test_a_shop_suspended_after_the_line_went_in_is_flagged_and_blocks_placing(client, basket_from_two_shops):
    peaches, tea = basket_from_two_shops
    suspend(peaches.shop)

    page = client.get(reverse("basket:summary")).content.decode()
    assert page.count('data-testid="basket-line-not-on-sale"') == 1
    response = client.post(reverse("checkout:index"), {**ADDRESS, "payment_method": "card_1234567890"})

    assert response.status_code == 200
    assert peaches.get_title() in " ".join(response.context["form"].non_field_errors())
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    # Raising its quantity is refused; removing it lets the buyer go on.
    fields = form_fields(re.search(r'<form method="post" class="basket_summary".*?</form>', page, re.S)[0])
    peach_line = Line.objects.get(product=peaches)
    [prefix] = re.findall(rf'name="(form-\d+)-id" value="{peach_line.pk}"', page)
    client.post(reverse("basket:summary"), {**fields, f"{prefix}-quantity": "3"})
    assert Line.objects.get(pk=peach_line.pk).quantity == 1
    client.post(reverse("basket:summary"), {**fields, f"{prefix}-quantity": "0"})
    assert not Line.objects.filter(pk=peach_line.pk).exists()
    assert Line.objects.filter(product=tea).exists()

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import ProductFactory, ShopFactory, region_chain

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["partner_partner", "places_region", "catalogue_certification", "shops_shopstatusevent"]
)
def test_admin_lists_open_for_a_superuser(admin_client, model):
    ShopFactory(**region_chain())
    assert admin_client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_shop_status_cannot_be_edited_in_the_admin(admin_client):
    shop = ShopFactory(status="approved")
    page = admin_client.get(reverse("admin:partner_partner_change", args=[shop.pk])).content.decode()
    assert 'name="status"' not in page


def test_stock_is_only_shown_in_the_admin(admin_client):
    """Stock moves through the race-safe paths only: the admin's stock record page writes nothing."""
    product = ProductFactory(stock=(Decimal("10.00"), 7))
    record = product.stockrecords.get()
    url = reverse("admin:partner_stockrecord_change", args=[record.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"num_in_stock": 999, "price": "1.00", "partner_sku": "X"})

    assert page.status_code == 200
    assert 'name="num_in_stock"' not in page.content.decode()
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.num_in_stock == 7
    assert admin_client.get(reverse("admin:partner_stockrecord_add")).status_code == 403


def test_a_listings_review_status_cannot_be_edited_in_the_admin(admin_client):
    product = ProductFactory()
    page = admin_client.get(reverse("admin:catalogue_product_change", args=[product.pk])).content.decode()
    assert product.title in page
    assert 'name="listing_status"' not in page

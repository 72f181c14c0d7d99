import pytest
from django.urls import reverse

from tests.factories import ShopFactory, region_chain

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

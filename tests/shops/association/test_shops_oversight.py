"""Shops oversight: the association lists and filters shops, suspends one (its products leave the cached
storefront at once, its paid orders carry on), reinstates it, and decides whether its new listings wait
for review; every decision is audited and kept in the shop's status history."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory

from marketplace.order.models import ShopOrder
from marketplace.search.indexing import products_index
from shops.association.models import AuditEntry
from shops.association.shop_oversight import (
    ShopDecisionError,
    shop_reinstate,
    shop_review_required_set,
    shop_suspend,
)
from shops.models import ShopStatusEvent
from tests.checkout.conftest import provinces  # noqa: F401  (autouse: the checkout's address regions)
from tests.factories import ProductFactory, RegionFactory, ShopFactory, association_member
from tests.form_pages import page_kept
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401
from tests.shops.console.conftest import paid_order, shop_a, shop_b  # noqa: F401

pytestmark = pytest.mark.django_db

Partner = get_model("partner", "Partner")
Region = get_model("places", "Region")
S = ShopOrder.Status


@pytest.fixture
def staff():
    return association_member(email="staff@association.example.cn", first_name="王会长")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def peach(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="阳山水蜜桃 湖景蜜露", harvest_start_month=1, harvest_end_month=12)
    products_index()
    return product


def test_suspending_takes_the_products_off_every_cached_page_at_once(
    client, staff_client, peach, django_capture_on_commit_callbacks
):
    shop = peach.shop
    # Render (and cache) the pages that show the product.
    assert "湖景蜜露" in client.get("/").content.decode()
    assert client.get(peach.get_absolute_url()).status_code == 200
    assert "湖景蜜露" in client.get(shop.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("association:shop-suspend", kwargs={"pk": shop.pk}), {"reason": "多次被投诉以次充好"}
        )

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.status == Partner.Status.SUSPENDED
    assert "湖景蜜露" not in client.get("/").content.decode()
    assert client.get(peach.get_absolute_url()).status_code == 404
    assert "湖景蜜露" not in client.get(shop.get_absolute_url()).content.decode()

    event = ShopStatusEvent.objects.get(shop=shop)
    assert (event.from_status, event.to_status, event.reason) == (
        "approved",
        "suspended",
        "多次被投诉以次充好",
    )
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.subject_id, entry.reason) == (
        "shop.suspend",
        str(shop.pk),
        "多次被投诉以次充好",
    )

    # Reinstating brings the product back, again at once.
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("association:shop-reinstate", kwargs={"pk": shop.pk}), {"reason": "已整改"})
    shop.refresh_from_db()
    assert shop.status == Partner.Status.APPROVED
    assert "湖景蜜露" in client.get("/").content.decode()
    assert client.get(peach.get_absolute_url()).status_code == 200
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "shop.suspend",
        "shop.reinstate",
    ]


def test_suspending_and_reinstating_need_a_reason_and_follow_the_table(staff):
    shop = ShopFactory()
    with pytest.raises(ShopDecisionError):
        shop_suspend(shop_id=shop.pk, actor=staff, reason=" ")
    with pytest.raises(ShopDecisionError):
        shop_reinstate(shop_id=shop.pk, actor=staff, reason="not suspended")  # approved → approved
    applied = ShopFactory(status=Partner.Status.APPLIED)
    with pytest.raises(ShopDecisionError):
        shop_suspend(shop_id=applied.pk, actor=staff, reason="x")
    shop.refresh_from_db()
    assert shop.status == Partner.Status.APPROVED
    assert not ShopStatusEvent.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_decision_without_a_reason_shows_a_message_and_changes_nothing(staff_client):
    shop = ShopFactory()
    response = staff_client.post(reverse("association:shop-suspend", kwargs={"pk": shop.pk}), {})
    assert response.status_code == 400  # the shop's page again, the error by the reason
    assert list(response.context["messages"])
    assert "reason" in response.context["reason_form"].errors
    shop.refresh_from_db()
    assert shop.status == Partner.Status.APPROVED
    assert not AuditEntry.objects.exists()


def test_a_suspension_reason_refused_is_kept_on_the_shops_page(staff_client):
    shop = ShopFactory()
    typed = "多次被投诉以次充好 <抽检>。" * 300  # over 4,000 characters

    response = staff_client.post(
        reverse("association:shop-suspend", kwargs={"pk": shop.pk}), {"reason": typed}
    )

    html = page_kept(response, form="reason_form", typed=[typed])
    assert 'data-testid="suspend-form"' in html
    assert '<details class="c-danger" open>' in html
    shop.refresh_from_db()
    assert shop.status == Partner.Status.APPROVED
    assert not ShopStatusEvent.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_reinstatement_the_shop_refuses_is_kept_in_its_own_form(staff_client, staff):
    shop = ShopFactory()
    shop_suspend(shop_id=shop.pk, actor=staff, reason="抽检不合格")
    shop_reinstate(shop_id=shop.pk, actor=staff, reason="已整改")  # meanwhile, by another member
    events, audits = ShopStatusEvent.objects.count(), AuditEntry.objects.count()

    response = staff_client.post(
        reverse("association:shop-reinstate", kwargs={"pk": shop.pk}), {"reason": "整改合格，恢复营业"}
    )

    assert response.status_code == 409
    assert response.context["reinstate_form"].non_field_errors()
    assert not response.context["reason_form"].is_bound  # the suspend form stays empty
    html = response.content.decode()
    assert "整改合格，恢复营业" not in html  # the shop is open: no reinstate form to put it back in
    assert list(response.context["messages"])
    assert (ShopStatusEvent.objects.count(), AuditEntry.objects.count()) == (events, audits)


def test_a_review_toggle_reason_refused_is_kept_with_the_box_as_ticked(staff_client):
    shop = ShopFactory(listing_review_required=False)
    typed = "新店，先审后上 <试运营>" * 400

    response = staff_client.post(
        reverse("association:shop-review-required", kwargs={"pk": shop.pk}),
        {"required": "on", "reason": typed},
    )

    html = page_kept(response, form="review_form", typed=[typed])
    assert re.search(r'<input type="checkbox" name="required"[^>]* checked', html)
    shop.refresh_from_db()
    assert shop.listing_review_required is False
    assert not AuditEntry.objects.exists()


def test_a_suspended_shops_paid_order_carries_on(shop_a, paid_order, staff):  # noqa: F811
    shop_order = paid_order.shop_orders.get(shop=shop_a.shop)
    buyer = UserFactory()
    paid_order.user = buyer
    paid_order.save(update_fields=["user"])

    shop_suspend(shop_id=shop_a.shop.pk, actor=staff, reason="暂停整改")

    number = shop_order.number
    assert shop_a.client.get(reverse("console:order", kwargs={"number": number})).status_code == 200
    shop_a.client.post(reverse("console:order-accept", kwargs={"number": number}))
    shop_a.client.post(
        reverse("console:order-pack", kwargs={"number": number}),
        {"parcel_count": "1", "parcel_weight_kg": "5"},
    )
    shop_order.refresh_from_db()
    assert shop_order.status == S.PACKED

    buyer_client = Client()
    buyer_client.force_login(buyer)
    page = buyer_client.get(reverse("customer:order", kwargs={"order_number": paid_order.number}))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="buyer-shop-order"' in html
    assert shop_a.shop.display_name in html


def test_the_review_toggle_is_audited_and_a_repeat_changes_nothing(staff_client, staff):
    shop = ShopFactory(listing_review_required=False)
    staff_client.post(
        reverse("association:shop-review-required", kwargs={"pk": shop.pk}),
        {"required": "on", "reason": "新店"},
    )
    shop.refresh_from_db()
    assert shop.listing_review_required is True
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details, entry.reason) == ("shop.review_required", {"required": True}, "新店")

    shop_review_required_set(shop_id=shop.pk, actor=staff, required=True)
    assert AuditEntry.objects.count() == 1

    staff_client.post(reverse("association:shop-review-required", kwargs={"pk": shop.pk}), {})
    shop.refresh_from_db()
    assert shop.listing_review_required is False
    assert AuditEntry.objects.count() == 2


def test_the_shop_page_shows_its_status_history_and_decisions(staff_client, staff):
    shop = ShopFactory(name="竹林人家")
    shop_suspend(shop_id=shop.pk, actor=staff, reason="抽检不合格")
    page = staff_client.get(reverse("association:shop", kwargs={"pk": shop.pk}))
    html = page.content.decode()
    assert page.status_code == 200
    assert "竹林人家" in html
    assert "抽检不合格" in html
    assert 'data-testid="reinstate"' in html
    assert 'data-testid="suspend"' not in html
    assert staff_client.get(reverse("association:shop", kwargs={"pk": 999999})).status_code == 404


def test_the_shops_list_filters_by_status_county_and_name(staff_client):
    suichang = RegionFactory(name="遂昌县", level=Region.Level.COUNTY)
    yangshan = RegionFactory(name="惠山区", level=Region.Level.COUNTY)
    bamboo = ShopFactory(name="竹林人家", county=suichang)
    tea = ShopFactory(name="龙谷茶舍", county=suichang, status=Partner.Status.SUSPENDED)
    peach = ShopFactory(name="桃源果园", county=yangshan)
    ProductFactory(shop=bamboo)
    ProductFactory(shop=bamboo)

    def listed(**params):
        response = staff_client.get(reverse("association:shops"), params)
        assert response.status_code == 200
        return [shop.pk for shop in response.context["shops"]]

    assert set(listed()) == {bamboo.pk, tea.pk, peach.pk}
    assert listed(status="suspended") == [tea.pk]
    assert set(listed(county=suichang.pk)) == {bamboo.pk, tea.pk}
    assert listed(q="竹林") == [bamboo.pk]
    page = staff_client.get(reverse("association:shops"), {"q": "竹林"})
    assert page.context["shops"][0].listings_count == 2
    assert page.content.decode().count('data-testid="shop-row"') == 1


def test_the_shops_list_query_count_does_not_grow_with_shops(staff_client, django_assert_max_num_queries):
    county = RegionFactory(name="遂昌县", level=Region.Level.COUNTY)
    ProductFactory(shop=ShopFactory(county=county))
    with django_assert_max_num_queries(12) as one:
        staff_client.get(reverse("association:shops"))
    for _ in range(15):
        ProductFactory(shop=ShopFactory(county=county, village=RegionFactory(level=Region.Level.VILLAGE)))
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = staff_client.get(reverse("association:shops"))
    assert len(response.context["shops"]) == 16

"""Every page of the association's workspace on a phone (390 px) with the demo data: it answers without a
server error, shows the workspace's tabs and does not scroll sideways (wide tables scroll in their card)."""

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from shops.association.models import ShopApplication
from tests.e2e.conftest import Visit

CategoryStandard = get_model("association", "CategoryStandard")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.e2e


def workspace_pages() -> list[tuple[str, str]]:
    """(label, path) of each page: the lists, and one of each detail page from the demo data."""
    awaiting = Product.objects.filter(listing_status=Product.ListingStatus.AWAITING_REVIEW).first()
    pages = [
        ("home", reverse("association:home")),
        ("applications", reverse("association:applications")),
        (
            "application",
            reverse("association:application", kwargs={"pk": ShopApplication.objects.first().pk}),
        ),
        ("shops", reverse("association:shops")),
        ("shop", reverse("association:shop", kwargs={"pk": Partner.objects.order_by("pk").first().pk})),
        ("listings", reverse("association:listings")),
        ("listing", reverse("association:listing", kwargs={"pk": awaiting.pk})),
        ("standards", reverse("association:standards")),
        (
            "standard",
            reverse(
                "association:standard-edit",
                kwargs={"category_pk": CategoryStandard.objects.first().category_id},
            ),
        ),
        ("sales", reverse("association:sales")),
        ("logistics", reverse("association:logistics")),
        ("statements", reverse("association:statements")),
        ("commission", reverse("association:commission")),
        ("decisions", reverse("association:audit")),
    ]
    return pages


def test_every_workspace_page_fits_a_phone(demo_server, open_visit):
    base = demo_server
    visit: Visit = open_visit("phone", "association-pages")
    page = visit.page
    assert page.goto(f"{base}/accounts/login/?next=/association/").status == 200
    page.fill("#id_login-username", "association@demo.xiangwei.cn")
    page.fill("#id_login-password", "demo-assoc-2026")
    with page.expect_navigation():
        page.locator("button[name=login_submit]").click()

    for label, path in workspace_pages():
        response = page.goto(f"{base}{path}")
        assert response.status == 200, f"{path}: {response.status}"
        assert page.locator("[data-testid=association-tabs]").count() == 1, path
        visit.screenshot(label)
        visit.assert_no_server_error()
        visit.assert_no_horizontal_scroll()

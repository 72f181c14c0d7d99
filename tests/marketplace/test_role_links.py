"""No role is shown a link it cannot open: for each kind of user, every same-site link on the pages they
browse (the header's workplaces, a product page, a category page, their account) answers something other
than 403, 404 or a server error. Oscar's dashboard is not mounted (marketplace/config.py), so nothing
links to it and its address is 404 for everyone."""

import re
from decimal import Decimal
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model

from logistics.models import LogisticsPartner
from shops.services import farmer_attach
from tests.factories import ProductFactory, association_member, category

ProductCategory = get_model("catalogue", "ProductCategory")

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="([^"]*)"')
NOT_PAGES = ("/static/", "/media/", "/i18n/")


@pytest.fixture
def product():
    product = ProductFactory(stock=(Decimal("58.00"), 9))
    ProductCategory.objects.create(product=product, category=category("水果", "Fruit"))
    return product


def user(email: str, **fields):
    return get_user_model().objects.create_user(email, email, "pw", **fields)


def as_role(role: str, product) -> Client:
    client = Client(raise_request_exception=False)
    if role == "visitor":
        return client
    if role == "buyer":
        person = user("buyer@example.cn")
    elif role == "farmer":
        person = user("farmer@example.cn")
        farmer_attach(shop=product.shop, user=person)
    elif role == "association":
        person = association_member(email="staff@assoc.example.cn")
    elif role == "association, admin staff too":  # the demo's association account
        person = association_member(email="zheng@assoc.example.cn", is_staff=True)
    elif role == "logistics partner":
        person = user("driver@example.cn")
        partner = LogisticsPartner.objects.create(code="suichang-hub", name="遂昌县物流中心", kind="hub")
        partner.users.add(person)
    else:
        assert role == "admin"
        person = get_user_model().objects.create_superuser("root@example.cn", "root@example.cn", "pw")
    client.force_login(person)
    return client


def links(html: str) -> set[str]:
    found = set()
    for raw in HREF.findall(html):
        href = unescape(raw)
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue  # another site, an anchor, a data: URL
        if parts.path.startswith(NOT_PAGES):
            continue
        found.add(href)
    return found


ROLES = [
    "visitor",
    "buyer",
    "farmer",
    "association",
    "association, admin staff too",
    "logistics partner",
    "admin",
]


@pytest.mark.parametrize("role", ROLES)
def test_every_link_a_role_is_shown_opens(role, product):
    client = as_role(role, product)
    pages = [
        reverse("storefront:home"),
        product.get_absolute_url(),
        product.categories.get().get_absolute_url(),
    ]
    if role != "visitor":
        pages.append(reverse("customer:summary"))
    shown: set[str] = set()
    for page in pages:
        response = client.get(page, follow=True)
        assert response.status_code == 200, page
        shown |= links(response.content.decode())

    broken = {}
    for href in sorted(shown):
        status = client.get(href).status_code
        if status in (403, 404) or status >= 500:
            broken[href] = status

    assert not broken, f"{role} is shown links that do not open: {broken}"
    assert not [href for href in shown if href.startswith("/dashboard")]


@pytest.mark.parametrize(
    ("role", "testid", "shown"),
    [
        ("buyer", "header-association", False),
        ("association", "header-association", True),
        ("farmer", "header-console", True),
        ("buyer", "header-console", False),
        ("logistics partner", "header-logistics", True),
        ("association", "header-admin", False),
        ("association, admin staff too", "header-admin", True),
        ("admin", "header-association", True),
    ],
)
def test_the_header_links_each_workplace_to_those_who_work_there(role, testid, shown, product):
    html = as_role(role, product).get(reverse("storefront:home")).content.decode()

    assert (f'data-testid="{testid}"' in html) is shown


@pytest.mark.parametrize("role", ROLES)
def test_oscars_dashboard_is_not_mounted(role, product):
    assert as_role(role, product).get("/dashboard/").status_code == 404

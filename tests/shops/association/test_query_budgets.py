"""Query budgets of the association's workspace pages: each runs the same number of queries with one
row (decision, review, category, photo, farmer, commission rule) as with many. The queues of
applications and listings, the shops list, the listing page, the statements and the sales review are
measured beside their other tests."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory

from logistics.routing import consignment_route
from shops.association.audit import audit_record
from shops.association.listing_review import category_standard_set
from shops.services import farmer_attach
from shops.settlement.rules import commission_rule_add
from tests.factories import (
    ProductFactory,
    RegionFactory,
    ShopFactory,
    association_member,
    category,
    region_chain,
)
from tests.logistics.conftest import (  # noqa: F401  (shared fixtures)
    URUMQI,
    demo_logistics,
    paid_shop_order,
    peach_shop,
    peaches,
    tea,
    tea_shop,
)
from tests.shops.association.test_admission import details, photo_bytes

ProductReview = get_model("reviews", "ProductReview")
Certification = get_model("catalogue", "Certification")
Region = get_model("places", "Region")
PLACE = {"county": "遂昌县", "town": "湖山乡", "village": "黄沙腰村"}

pytestmark = pytest.mark.django_db

MANY = 8


def decisions(n: int, tag: str) -> ShopFactory:
    shop = ShopFactory()
    actor = association_member(email=f"decider{tag}@association.example.cn")
    for i in range(n):
        audit_record(actor=actor, action=f"shop.note{tag}", subject=shop, reason=f"第{i}条")
    return shop


def reviews_waiting(n: int, tag: str) -> None:
    for i in range(n):
        product = ProductFactory(shop=ShopFactory(), stock=(Decimal("10.00"), 5))
        buyer = get_user_model().objects.create_user(f"b{tag}-{i}", f"b{tag}-{i}@example.cn", "pw")
        ProductReview.objects.create(
            product=product,
            user=buyer,
            score=4,
            title="真甜",
            body=f"桃子很甜 {i}",
            status=ProductReview.FOR_MODERATION,
        )


@dataclass(frozen=True)
class Page:
    grow: Callable  # (n, tag): makes n rows, returns what the URL needs
    url: Callable  # (what grow made)
    rows: Callable  # (response, tag): the rows of this round the page shows
    budget: int


def _home(n, tag):
    decisions(n, tag)
    reviews_waiting(n, tag)


def place() -> dict:
    """The Suichang village chain, made by the first application of the test."""
    if not Region.objects.filter(name="黄沙腰村").exists():
        return region_chain()
    return {level: Region.objects.get(name=name) for level, name in PLACE.items()}


def _application(n, tag):
    from shops.association.admission import application_submit

    return application_submit(
        details=details(
            place(),
            category(f"笋干{tag}", f"Shoots {tag}"),
            email=f"a{tag}@farm.example.cn",
            phone=f"1385781234{tag[-1]}",
        ),
        # n + 1 photos (at most 6 of a kind): the one licence photo always asked for, and n more
        farm_photos=[photo_bytes() for _ in range(min(n, 6))],
        licence_photos=[photo_bytes() for _ in range(n + 1 - min(n, 6))],
    )


def _shop(n, tag):
    shop = decisions(n, tag)
    for i in range(n):
        farmer_attach(shop=shop, user=UserFactory(email=f"f{tag}-{i}@farm.example.cn"))
    return shop


def _standards(n, tag):
    """n categories with a standard, each with a sub-category that inherits it, and n certifications
    registered for a region each."""
    staff = association_member(email=f"s{tag}@association.example.cn")
    for i in range(n):
        parent = category(f"类{tag}-{i}", f"Kind {tag}-{i}")
        category(f"类{tag}-{i}子", f"Kind {tag}-{i} sub", parent=parent)
        category_standard_set(
            category=parent, required_fields=["variety"], min_photos=2, notes="", actor=staff
        )
        Certification.objects.create(code=f"c{tag}-{i}", name=f"认证{tag}-{i}").registered_regions.add(
            RegionFactory(name=f"产地{tag}-{i}")
        )


def _commission(n, tag):
    for i in range(n):
        commission_rule_add(
            percent=Decimal("5"),
            effective_from=datetime.date(2026, 1, 1),
            shop=ShopFactory(name=f"{tag}号{i}"),
            actor=association_member(email=f"c{tag}-{i}@association.example.cn"),
        )


PAGES = {
    "home": Page(
        _home,
        lambda made: reverse("association:home"),
        lambda response, tag: sum(1 for e in response.context["latest"] if e.action == f"shop.note{tag}"),
        14,  # each waiting tile is one count; the broken cold chains' is the latest
    ),
    "audit": Page(
        decisions,
        lambda made: reverse("association:audit"),
        lambda response, tag: sum(
            1 for e in response.context["object_list"] if e.action == f"shop.note{tag}"
        ),
        8,
    ),
    "reviews": Page(
        reviews_waiting,
        lambda made: reverse("association:reviews"),
        lambda response, tag: sum(
            1 for r in response.context["object_list"] if r.user.username.startswith(f"b{tag}-")
        ),
        7,
    ),
    "standards": Page(
        _standards,
        lambda made: reverse("association:standards"),
        lambda response, tag: (
            sum(
                1
                for row in response.context["rows"]
                if row.category.name.startswith(f"类{tag}-") and (row.standard or row.inherited_from)
            )
            // 2
        ),  # a category with its standard and its sub-category inheriting it
        9,  # with certifications, their registered regions are one more (prefetch) query
    ),
    "application": Page(
        _application,
        lambda made: reverse("association:application", kwargs={"pk": made.pk}),
        lambda response, tag: (
            len(response.context["farm_photos"]) + len(response.context["licence_photos"]) - 1
        ),
        9,
    ),
    "shop": Page(
        _shop,
        lambda made: reverse("association:shop", kwargs={"pk": made.pk}),
        lambda response, tag: len(response.context["shop"].users.all()),
        9,
    ),
    "commission": Page(
        _commission,
        lambda made: reverse("association:commission"),
        lambda response, tag: sum(
            1 for r in response.context["rules"] if r.shop and r.shop.name.startswith(f"{tag}号")
        ),
        8,
    ),
}


def queries(client, url: str) -> tuple[int, object]:
    client.get(url)  # the session and the caches warmed
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_query_count_does_not_grow_with_its_rows(
    name, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    page = PAGES[name]
    staff = Client()
    staff.force_login(association_member())
    counts = {}
    for n in (1, MANY):
        tag = f"r{n}"
        with django_capture_on_commit_callbacks(execute=True):
            made = page.grow(n, tag)
        url = page.url(made)
        counts[n], response = queries(staff, url)
        assert page.rows(response, tag) == n
    assert counts[MANY] == counts[1], f"{name}: {counts[1]} queries with 1 row, {counts[MANY]} with {MANY}"
    with django_assert_max_num_queries(page.budget):
        staff.get(url)


LOGISTICS_PAGE_BUDGET = 9  # with the legs whose cold chain broke lately


def test_the_logistics_page_query_count_does_not_grow_with_legs_and_parcels(
    peaches,  # noqa: F811  (the imported fixtures)
    tea,  # noqa: F811
    django_assert_max_num_queries,
):
    """Per partner, its legs of the period; below, the parcels waiting to be routed by hand."""
    staff = Client()
    staff.force_login(association_member())
    url = reverse("association:logistics")
    counts, routed, waiting = {}, 0, 0
    for n in (1, MANY):
        for _ in range(n):
            consignment_route(shop_order_id=paid_shop_order(tea).pk)  # three partners' legs
            consignment_route(shop_order_id=paid_shop_order(peaches, address=URUMQI).pk)  # no carrier
        routed, waiting = routed + n, waiting + n
        counts[n], response = queries(staff, url)
        assert len(response.context["needing_routing"]) == waiting
        assert sum(p.legs for p in response.context["partners"]) >= 3 * routed
    assert counts[MANY] == counts[1], (
        f"logistics: {counts[1]} queries with 1 parcel, {counts[MANY]} with {MANY}"
    )
    with django_assert_max_num_queries(LOGISTICS_PAGE_BUDGET):
        staff.get(url)

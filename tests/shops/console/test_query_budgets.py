"""Query budgets of the console's pages: each runs the same number of queries whether the shop has one
order (or the order one line, the listing one photo, the statement one sale) or many. The listings and
orders lists and the statement list are measured in test_console.py and tests/shops/settlement."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketplace.shipping.models import ShippingRule
from shops.photos import product_photo_add, product_photo_renditions_draw
from shops.settlement.models import Statement
from shops.settlement.services import statements_generate
from tests.factories import ProductFactory, category
from tests.shops.console.conftest import shop_world
from tests.shops.console.test_console import jpeg_bytes
from tests.shops.settlement.conftest import at, sale

pytestmark = pytest.mark.django_db

MANY = 8


def products(world, n: int) -> list:
    made = [world.product]
    for i in range(n - 1):
        made.append(ProductFactory(title=f"笋干 {i}", shop=world.shop, stock=(Decimal("30.00"), 500)))
    return made


def sales_today(world, n: int):
    """``n`` paid shop orders of the shop's listings, each of another listing, shipping today."""
    for product in products(world, n):
        sale(world.shop, (product, 1), paid_at=timezone.now())


def one_order_of(world, n: int):
    """One paid shop order with ``n`` lines."""
    return sale(world.shop, *((product, 1) for product in products(world, n)), paid_at=timezone.now())


def photos(world, n: int) -> None:
    """n photos with their renditions drawn (what the Celery task does after the upload)."""
    for i in range(n):
        photo = product_photo_add(
            product=world.product, upload=SimpleUploadedFile(f"p{i}.jpg", jpeg_bytes(colour=(i * 20, 80, 60)))
        )
        product_photo_renditions_draw(photo_id=photo.pk)


def categories(world, n: int) -> None:
    for i in range(n):
        category(f"类{n}-{i}", f"Kind {n}-{i}")
    world.product.categories.add(category("鲜果", "Fresh fruit"))


def march_statement(world, n: int) -> str:
    for day in range(1, n + 1):
        sale(world.shop, (world.product, 1), paid_at=at(f"2026-03-{day:02d} 10:00"))
    statements_generate(month=datetime.date(2026, 3, 1))
    return Statement.objects.get(shop=world.shop).number


def categories_offered(response) -> int:
    """The categories made for this page's world (named 类<n>-<i>), in the form's choice."""
    names = [c.name for c in response.context["form"].fields["category"].queryset if c.name.startswith("类")]
    n = max(int(name[1:].split("-")[0]) for name in names)
    return sum(1 for name in names if name.startswith(f"类{n}-"))


@dataclass(frozen=True)
class Page:
    grow: Callable  # (world, n): makes the page's n rows
    url: Callable  # (world, what grow made)
    rows: Callable  # (response): the rows shown, to check the page shows the n made
    budget: int


PAGES = {
    "home": Page(
        sales_today,
        lambda world, made: reverse("console:home"),
        lambda response: {k: c for k, _l, c in response.context["order_tiles"]}["new"],
        11,
    ),
    "sales": Page(
        sales_today,
        lambda world, made: reverse("console:sales"),
        lambda response: sum(count for _s, _l, count in response.context["sales"].by_status),
        8,
    ),
    "picking": Page(
        sales_today,
        lambda world, made: reverse("console:picking"),
        lambda response: len(response.context["rows"]),
        5,
    ),
    "order": Page(
        one_order_of,
        lambda world, made: reverse("console:order", args=[made.number]),
        lambda response: len(response.context["shop_order"].order.shop_lines),
        9,
    ),
    "packing-slip": Page(
        one_order_of,
        lambda world, made: reverse("console:packing-slip", args=[made.number]),
        lambda response: len(response.context["shop_order"].order.shop_lines),
        9,  # the parcel's trace code, for its QR
    ),
    "photos": Page(
        photos,
        lambda world, made: reverse("console:listing-photos", args=[world.product.pk]),
        lambda response: len(response.context["photos"]),
        7,
    ),
    "photo-status": Page(
        photos,
        lambda world, made: reverse("console:photo-status", args=[world.product.pk]),
        lambda response: sum(1 for photo in response.json()["photos"] if photo["ready"]),
        6,
    ),
    "listing-edit": Page(
        categories,
        lambda world, made: reverse("console:listing-edit", args=[world.product.pk]),
        categories_offered,
        15,
    ),
    "listing-create": Page(
        categories,
        lambda world, made: reverse("console:listing-create"),
        categories_offered,
        7,
    ),
    "statement": Page(
        march_statement,
        lambda world, made: reverse("console:statement", args=[made]),
        lambda response: sum(1 for line in response.context["lines"] if line.kind == "sale"),
        7,
    ),
}


def queries(client, url: str) -> tuple[int, object]:
    client.get(url)  # the session and the caches warmed
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_query_count_does_not_grow_with_its_rows(name, django_assert_max_num_queries):
    page = PAGES[name]
    counts = {}
    for n in (1, MANY):
        world = shop_world(f"果园{n}", f"水蜜桃 {n}", "168.00", 500)
        ShippingRule.objects.create(shop=world.shop, kind=ShippingRule.Kind.FLAT, flat_charge=Decimal("12"))
        url = page.url(world, page.grow(world, n))
        counts[n], response = queries(world.client, url)
        assert page.rows(response) == n
    assert counts[MANY] == counts[1], f"{name}: {counts[1]} queries with 1 row, {counts[MANY]} with {MANY}"
    with django_assert_max_num_queries(page.budget):
        world.client.get(url)


def test_the_import_page_keeps_to_its_budget(django_assert_max_num_queries):
    """The upload form: no rows before a file is sent (the preview is the POST's answer)."""
    world = shop_world("果园", "水蜜桃", "168.00", 500)
    products(world, MANY)
    world.client.get(reverse("console:import"))
    with django_assert_max_num_queries(4):
        assert world.client.get(reverse("console:import")).status_code == 200

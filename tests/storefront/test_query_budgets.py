"""Query budgets: every storefront page runs a fixed number of SQL queries, whether it shows one
product or fifty. The budgets are written in docs/performance.md."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.search.indexing import products_index
from marketplace.storefront.caching import catalogue_changed, catalogue_version_bump
from marketplace.storefront.lists_moved import ListsMoved
from marketplace.storefront.models import ProductCard
from tests.factories import ProductFactory, ShopFactory, category, region_chain

ProductCategory = get_model("catalogue", "ProductCategory")
ProductImage = get_model("catalogue", "ProductImage")
Certification = get_model("catalogue", "Certification")

pytestmark = pytest.mark.django_db

# Page → the most queries it may run, rendered from scratch with its product cards and its kept parts as
# kept (the home page's kinds, shops and places, the product page's breadcrumbs, photos, facts, description
# and reviews, and the product itself: marketplace/storefront/kept.py; docs/performance.md keeps the same
# table). The product page: its kept parts and product in one query, its stock records in another.
BUDGETS = {
    "home": 4,
    "category": 5,
    "product": 2,
    "shop": 5,
    # A search that fills more than a page is kept (search/picks.py): read in one query, neither ranked
    # nor counted; one that fits on a page (as here) costs the look for it, its count and its page.
    "search": 5,
    # 水密桃 (a homophone of 水蜜桃) finds nothing as typed; it is searched again by its pinyin.
    "search_typo": 7,
    "place": 6,
}
# … when no product card is kept yet (marketplace/storefront/cards.py), the page draws and keeps them: its
# products with their stock records, photos and certifications, and the cards written (a savepoint, the
# insert and its release), whatever the number of cards.
DRAWING_CARDS = 7
# … and with its catalogue fragments served from the cache: only the stock of now (the cards' sold-out
# flags, the product page's buy box), one query. The product page for a visitor it is not stored for
# (here: one with a browsing history) also reads its kept parts, which no fragment cache sits in front of.
CACHED_BUDGETS = {
    "home": 1,
    "category": 1,
    "product": 2,
    "shop": 1,
    "search": 1,
    "search_typo": 1,
    "place": 1,
}
# The product page's "recently viewed" strip, when the buyer has a browsing history.
PRODUCT_WITH_HISTORY_BUDGET = 14


def build_market(n_products: int, tiny_jpeg) -> dict:
    places = region_chain()
    shops = [ShopFactory(**places) for _ in range(3)]
    fruit = category("鲜果", "Fresh fruit")
    gi = Certification.objects.create(code="gi", name="地理标志", name_en="GI")
    products = []
    for i in range(n_products):
        product = ProductFactory(
            title=f"阳山水蜜桃{i}号", shop=shops[0], harvest_start_month=1, harvest_end_month=12
        )
        ProductCategory.objects.create(product=product, category=fruit)
        product.certifications.add(gi)
        ProductImage.objects.create(product=product, original=tiny_jpeg, display_order=0)
        products.append(product)
    products_index()
    return {"shop": shops[0], "category": fruit, "product": products[0], "county": places["county"]}


@pytest.fixture
def tiny_jpeg(settings):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (32, 32), (240, 150, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile("peach.jpg", buffer.getvalue(), content_type="image/jpeg")


def page_urls(market: dict) -> dict[str, str]:
    return {
        "home": "/",
        "category": market["category"].get_absolute_url(),
        "product": market["product"].get_absolute_url(),
        "shop": market["shop"].get_absolute_url(),
        "search": reverse("search:search") + "?q=水蜜桃",
        "search_typo": reverse("search:search") + "?q=水密桃",
        "place": market["county"].get_absolute_url(),
    }


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def queries_for(client, url: str) -> int:
    """Queries of a page rendered from scratch: thumbnails already made (they are made once), but
    every cached storefront fragment invalidated, as after a catalogue change."""
    catalogue_version_bump()
    client.get(url)
    catalogue_version_bump()
    return count_queries(client, url)


def cached_queries_for(client, url: str) -> int:
    """Queries of a page whose fragments come from the cache (the usual case)."""
    client.get(url)
    return count_queries(client, url)


def shown(response, page: str) -> int:
    """Product cards on the page (read from the HTML: a stored page has no template context)."""
    if page == "product":
        return 1
    return response.content.decode().count('<article class="product-card')


@pytest.mark.parametrize("page", list(BUDGETS))
def test_page_query_count_is_fixed_and_within_budget(
    client, settings, tiny_jpeg, page, django_capture_on_commit_callbacks
):
    settings.OSCAR_PRODUCTS_PER_PAGE = 60
    with django_capture_on_commit_callbacks(execute=True):  # the catalogue changes delivered: counts kept
        market = build_market(50, tiny_jpeg)
    url = page_urls(market)[page]
    many = queries_for(client, url)
    assert shown(client.get(url), page) == (12 if page == "home" else 1 if page == "product" else 50)

    Product = ProductFactory._meta.model
    with django_capture_on_commit_callbacks(execute=True):
        hidden = Product.objects.exclude(pk=market["product"].pk)
        hidden_ids = list(hidden.values_list("pk", flat=True))
        hidden.update(is_public=False)
        # as every write that bypasses save() must
        catalogue_changed(lists=ListsMoved(products=hidden_ids), product_ids=hidden_ids)
    one = queries_for(client, url)
    assert shown(client.get(url), page) == 1

    assert many == one, f"{page}: {one} queries with 1 product shown, {many} with many"
    assert many <= BUDGETS[page], f"{page}: {many} queries, budget {BUDGETS[page]}"


@pytest.mark.parametrize("page", list(CACHED_BUDGETS))
def test_cached_page_runs_only_the_live_stock_query(client, tiny_jpeg, page):
    url = page_urls(build_market(30, tiny_jpeg))[page]
    cached = cached_queries_for(client, url)
    assert cached <= CACHED_BUDGETS[page], f"{page}: {cached} queries when cached"


def test_recently_viewed_strip_costs_the_same_for_one_or_many_viewed_products(client, tiny_jpeg):
    market = build_market(12, tiny_jpeg)
    Product = ProductFactory._meta.model
    others = list(Product.objects.exclude(pk=market["product"].pk).order_by("pk"))
    url = market["product"].get_absolute_url()

    client.get(others[0].get_absolute_url())
    one = queries_for(client, url)
    for product in others[1:10]:
        client.get(product.get_absolute_url())
    many = queries_for(client, url)

    assert many == one
    assert many <= PRODUCT_WITH_HISTORY_BUDGET


@pytest.mark.parametrize("page", [page for page in BUDGETS if page != "product"])
def test_a_page_drawing_all_its_cards_runs_a_fixed_number_of_queries(
    client, settings, tiny_jpeg, page, django_capture_on_commit_callbacks
):
    settings.OSCAR_PRODUCTS_PER_PAGE = 60
    with django_capture_on_commit_callbacks(execute=True):
        market = build_market(50, tiny_jpeg)
    url = page_urls(market)[page]

    def drawing_all() -> int:
        client.get(url)  # thumbnails made
        ProductCard.objects.all().delete()
        catalogue_version_bump()
        return count_queries(client, url)

    many = drawing_all()
    Product = ProductFactory._meta.model
    with django_capture_on_commit_callbacks(execute=True):
        hidden = Product.objects.exclude(pk=market["product"].pk)
        hidden_ids = list(hidden.values_list("pk", flat=True))
        hidden.update(is_public=False)
        catalogue_changed(lists=ListsMoved(products=hidden_ids), product_ids=hidden_ids)
    one = drawing_all()
    assert many == one, f"{page}: {one} queries drawing 1 card, {many} drawing many"
    assert many <= BUDGETS[page] + DRAWING_CARDS, f"{page}: {many} queries drawing its cards"


# A search that fills more than a page, rendered from scratch once it is kept (search/picks.py): the kept
# first page and count, the cards, the stock.
KEPT_SEARCH_BUDGET = 3


def test_a_kept_search_runs_a_fixed_number_of_queries_whatever_it_finds(
    client, settings, tiny_jpeg, django_capture_on_commit_callbacks
):
    settings.OSCAR_PRODUCTS_PER_PAGE = 10
    with django_capture_on_commit_callbacks(execute=True):
        market = build_market(30, tiny_jpeg)
    url = page_urls(market)["search"]
    many = queries_for(client, url)
    assert shown(client.get(url), "search") == 10

    Product = ProductFactory._meta.model
    with django_capture_on_commit_callbacks(execute=True):
        hidden = Product.objects.filter(pk__in=Product.objects.order_by("pk").values("pk")[:18])
        hidden_ids = list(hidden.values_list("pk", flat=True))
        hidden.update(is_public=False)
        # the kept search picked again: 12 left, 2 pages
        catalogue_changed(lists=ListsMoved(products=hidden_ids), product_ids=hidden_ids)
    fewer = queries_for(client, url)
    assert shown(client.get(url), "search") == 10
    assert many == fewer <= KEPT_SEARCH_BUDGET, f"{many} queries with 30 found, {fewer} with 12"

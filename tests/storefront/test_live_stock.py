"""Orders move stock without emptying the storefront's cache, and every page still shows stock as it is now:
the cached grids' sold-out flags and the product page's buy box are read live."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.core.loading import get_model

from marketplace.partner.stock import StockRequest, stock_allocate, stock_consume, stock_release
from marketplace.storefront.caching import catalogue_version
from marketplace.storefront.templatetags.storefront_tags import live_stock_apply
from shops.listings import listing_price_stock_set
from tests.factories import ProductClassFactory, ProductFactory
from tests.storefront.conftest import grid_pages

StockRecord = get_model("partner", "StockRecord")
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.django_db


def card_of(page: str, product) -> str:
    match = re.search(rf'<article class="product-card[^"]*" data-product="{product.pk}"', page)
    assert match, f"no card of product {product.pk}"
    return match[0]


def sold_out_on(client, url: str, product) -> bool:
    return "product-card--sold-out" in card_of(client.get(url).content.decode(), product)


def test_selling_the_last_boxes_marks_the_cached_cards_sold_out_and_a_cancel_brings_them_back(
    client, peach, django_capture_on_commit_callbacks
):
    for url in grid_pages(peach):
        assert not sold_out_on(client, url, peach), url  # rendered and cached
    version = catalogue_version()
    # Renamed behind the cache's back (no signal): a page still showing the old name is served from the cache.
    Product.objects.filter(pk=peach.pk).update(title="改过的名字")
    record = StockRecord.objects.get(product=peach)

    with django_capture_on_commit_callbacks(execute=True):
        stock_allocate(requests=[StockRequest(record.pk, 2)])

    assert catalogue_version() == version
    for url in grid_pages(peach):
        page = client.get(url).content.decode()
        assert "湖景蜜露" in page, url
        assert "改过的名字" not in page, url
        assert "product-card--sold-out" in card_of(page, peach), url

    with django_capture_on_commit_callbacks(execute=True):
        stock_release(requests=[StockRequest(record.pk, 1)])

    assert catalogue_version() == version
    for url in grid_pages(peach):
        assert not sold_out_on(client, url, peach), url


def test_the_product_page_buy_box_reads_the_stock_of_now(client, peach, django_capture_on_commit_callbacks):
    url = peach.get_absolute_url()
    assert 'name="quantity"' in client.get(url).content.decode()  # the product is cached with its buy box
    record = StockRecord.objects.get(product=peach)
    with django_capture_on_commit_callbacks(execute=True):
        stock_allocate(requests=[StockRequest(record.pk, 2)])
        stock_consume(requests=[StockRequest(record.pk, 2)])

    page = client.get(url).content.decode()
    assert 'class="tag tag--lg tag--soldout"' in page
    assert 'name="quantity"' not in page  # Oscar's basket form is not offered for a sold-out product
    assert StockRecord.objects.get(pk=record.pk).num_in_stock == 0


def test_a_farmer_restocking_leaves_the_cache_and_a_new_price_empties_it(
    client, peach, django_capture_on_commit_callbacks
):
    record = StockRecord.objects.get(product=peach)
    with django_capture_on_commit_callbacks(execute=True):
        stock_allocate(requests=[StockRequest(record.pk, 2)])
    assert sold_out_on(client, "/", peach)
    version = catalogue_version()

    with django_capture_on_commit_callbacks(execute=True):
        listing_price_stock_set(product=peach, stock=5)
    assert catalogue_version() == version
    assert not sold_out_on(client, "/", peach)

    with django_capture_on_commit_callbacks(execute=True):
        listing_price_stock_set(product=peach, price=Decimal("99.00"))
    assert catalogue_version() != version
    assert "¥99.00" in client.get("/").content.decode()


def test_saving_only_stock_levels_keeps_the_version_and_any_other_save_moves_it(
    peach, django_capture_on_commit_callbacks
):
    record = StockRecord.objects.get(product=peach)
    version = catalogue_version()
    with django_capture_on_commit_callbacks(execute=True):
        record.num_in_stock = 40
        record.save(update_fields=["num_in_stock"])
    assert catalogue_version() == version
    with django_capture_on_commit_callbacks(execute=True):
        record.save(update_fields=["num_in_stock", "price"])
    assert catalogue_version() != version


def test_a_product_whose_class_does_not_track_stock_keeps_its_cached_state(peach):
    untracked = ProductFactory(product_class=ProductClassFactory(slug="voucher", track_stock=False))
    StockRecord.objects.filter(product=untracked).update(num_in_stock=0)
    StockRecord.objects.filter(product=peach).update(num_allocated=2)
    html = (
        f'<article class="product-card" data-product="{untracked.pk}">'
        f'<article class="product-card" data-product="{peach.pk}">'
    )
    assert live_stock_apply(html) == (
        f'<article class="product-card" data-product="{untracked.pk}">'
        f'<article class="product-card product-card--sold-out" data-product="{peach.pk}">'
    )


def cached_page_queries(client, url: str) -> list[str]:
    client.get(url)  # rendered (and cached) if it was not
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_a_cached_grid_reads_stock_once_whatever_its_size(client, peach, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(harvest_start_month=1, harvest_end_month=12)
    few = cached_page_queries(client, "/")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(10):
            ProductFactory(harvest_start_month=1, harvest_end_month=12)
    many = cached_page_queries(client, "/")

    assert len(many) == len(few)
    stock_reads = [sql for sql in many if "partner_stockrecord" in sql]
    assert len(stock_reads) == 1
    # the cards themselves came from the cache: no query reads products but the stock read
    assert not [sql for sql in many if "catalogue_product" in sql and sql not in stock_reads]

"""Cached storefront fragments never show a buyer stale prices, stock or names for longer than a commit."""

import itertools
from decimal import Decimal

import pytest
from django.core.cache import cache, caches
from django.core.cache.utils import make_template_fragment_key
from django.template import Context, Template
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.search.indexing import products_index
from marketplace.storefront.caching import FRAGMENT_CACHE, VERSION_KEY
from shops.services import shop_status_change
from tests.factories import ProductFactory, ShopFactory

StockRecord = get_model("partner", "StockRecord")
Partner = get_model("partner", "Partner")

pytestmark = pytest.mark.django_db


@pytest.fixture
def peach(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="阳山水蜜桃 湖景蜜露", harvest_start_month=1, harvest_end_month=12)
    products_index()
    return product


def pages(product) -> list[str]:
    return [
        "/",
        reverse("catalogue:index"),
        product.shop.get_absolute_url(),
        reverse("search:search") + "?q=水蜜桃",
        product.get_absolute_url(),
    ]


def test_a_price_change_shows_on_every_page_at_once(client, peach, django_capture_on_commit_callbacks):
    for url in pages(peach):
        assert "¥168.00" in client.get(url).content.decode(), url  # renders and caches

    with django_capture_on_commit_callbacks(execute=True):
        record = StockRecord.objects.get(product=peach)
        record.price = Decimal("99.00")
        record.save()

    for url in pages(peach):
        page = client.get(url).content.decode()
        assert "¥99.00" in page, url
        assert "¥168.00" not in page, url


def test_a_product_renamed_in_english_is_renamed_in_the_english_pages(
    client, peach, django_capture_on_commit_callbacks
):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Yangshan honey peach" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        peach.title_en = "Yangshan white peach"
        peach.save()
    assert "Yangshan white peach" in client.get("/").content.decode()


def test_a_suspended_shop_leaves_the_cached_pages(client, peach, django_capture_on_commit_callbacks):
    assert "湖景蜜露" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        shop_status_change(shop_id=peach.shop.pk, to_status=Partner.Status.SUSPENDED, reason="投诉")
    assert "湖景蜜露" not in client.get("/").content.decode()
    assert client.get(peach.get_absolute_url()).status_code == 404


def test_chinese_and_english_pages_are_cached_apart(client, peach):
    assert "湖景蜜露" in client.get("/").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get("/").content.decode()
    assert "Yangshan honey peach" in english


def test_a_new_shop_product_appears_without_waiting_for_expiry(
    client, peach, django_capture_on_commit_callbacks
):
    assert "高山土蜂蜜" not in client.get(reverse("catalogue:index")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(title="高山土蜂蜜", shop=ShopFactory())
    assert "高山土蜂蜜" in client.get(reverse("catalogue:index")).content.decode()


def test_a_lost_version_key_never_brings_back_old_fragments(
    client, peach, django_capture_on_commit_callbacks
):
    client.get("/")  # cached under the current version
    cache.delete(VERSION_KEY)  # evicted; the old fragments stay
    with django_capture_on_commit_callbacks(execute=True):
        record = StockRecord.objects.get(product=peach)
        record.price = Decimal("77.00")
        record.save()
    assert "¥77.00" in client.get("/").content.decode()


FRAGMENT = Template(
    "{% load storefront_tags %}"
    '{% storefront_cache "t" shop %}{{ shop }}: {{ drawn }}{% endstorefront_cache %}'
)


def test_a_storefront_fragment_is_stored_per_vary_value_and_served_until_it_expires(settings):
    settings.STOREFRONT_CACHE_SECONDS = 300
    drawn = itertools.count().__next__  # a template calls it: the number of times the block was drawn
    first = FRAGMENT.render(Context({"shop": "桃园", "drawn": drawn}))
    assert FRAGMENT.render(Context({"shop": "桃园", "drawn": drawn})) == first == "桃园: 0"
    assert FRAGMENT.render(Context({"shop": "茶园", "drawn": drawn})) == "茶园: 1"


def test_with_caching_off_a_storefront_fragment_is_drawn_each_time_and_the_cache_left_alone(settings):
    settings.STOREFRONT_CACHE_SECONDS = 300
    drawn = itertools.count().__next__  # a template calls it: the number of times the block was drawn
    FRAGMENT.render(Context({"shop": "桃园", "drawn": drawn}))  # stored while caching was on
    settings.STOREFRONT_CACHE_SECONDS = 0
    # Django's {% cache 0 %} would serve the stored "桃园: 0" and write the new one to expire at once.
    assert FRAGMENT.render(Context({"shop": "桃园", "drawn": drawn})) == "桃园: 1"
    assert FRAGMENT.render(Context({"shop": "桃园", "drawn": drawn})) == "桃园: 2"
    assert caches[FRAGMENT_CACHE].get(make_template_fragment_key("t", ["桃园"])) == "桃园: 0"

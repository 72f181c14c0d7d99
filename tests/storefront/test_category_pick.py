"""A category's first page is kept (marketplace/storefront/category_pick.py): read as kept with the count
kept beside it, picked again by every catalogue change, and not trusted when it disagrees with the count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.core.loading import get_model

from marketplace.storefront.category_pick import category_first_page
from marketplace.storefront.models import CategoryPick
from shops.listings import listing_pause
from tests.factories import ProductFactory, ShopFactory, category

Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def from_the_database(settings):
    settings.STOREFRONT_CACHE_SECONDS = 0
    settings.OSCAR_PRODUCTS_PER_PAGE = 2


@pytest.fixture
def peaches(django_capture_on_commit_callbacks):
    fruit = category("鲜果", "Fresh fruit")
    shop = ShopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        products = [ProductFactory(title=f"水蜜桃{i}号", shop=shop) for i in range(4)]
        for product in products:
            ProductCategory.objects.create(product=product, category=fruit)
    return fruit, products


def titles(client, url: str) -> list[str]:
    page = client.get(url).content.decode()
    return [f"水蜜桃{i}号" for i in range(6) if f"水蜜桃{i}号" in page]


def test_the_first_page_is_read_as_kept_without_ordering_the_category(client, peaches):
    fruit, products = peaches
    newest = sorted(products, key=lambda p: (p.date_created, p.pk), reverse=True)
    assert CategoryPick.objects.get(category=fruit).product_ids == [
        p.pk for p in newest[:3]
    ]  # a page and one
    client.get(fruit.get_absolute_url())
    with CaptureQueriesContext(connection) as queries:
        shown = titles(client, fruit.get_absolute_url())
    assert shown == sorted(p.title for p in newest[:2])
    assert not [q for q in queries if '"catalogue_product"."date_created" DESC' in q["sql"]]


def test_a_catalogue_change_picks_again(client, peaches, django_capture_on_commit_callbacks):
    fruit, products = peaches
    newest = max(products, key=lambda p: (p.date_created, p.pk))
    with django_capture_on_commit_callbacks(execute=True):
        listing_pause(product=newest)
    assert newest.pk not in category_first_page(Category.objects.get(pk=fruit.pk))
    assert newest.title not in titles(client, fruit.get_absolute_url())


def test_a_pick_that_lags_its_count_is_not_trusted(client, peaches):
    fruit, products = peaches
    # The pick lost a product the count still has (as if a change's delivery were half done): the page is
    # ordered from the database instead, and no product is left off it.
    CategoryPick.objects.filter(category=fruit).update(product_ids=[products[0].pk])
    url = fruit.get_absolute_url()
    assert sorted(titles(client, url) + titles(client, url + "?page=2")) == [f"水蜜桃{i}号" for i in range(4)]

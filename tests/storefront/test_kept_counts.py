"""The category and shop pages take their paginator's count from the counts kept on the category and the
shop (marketplace/storefront/shop_counts.py) when the page agrees with it, and count when it does not (a
count recounted after a change, through the outbox, may lag it): no product is ever left off a page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.core.loading import get_model

from marketplace.storefront.shop_counts import category_product_counts_refresh, shop_product_counts_refresh
from tests.factories import ProductFactory, ShopFactory, category

Category = get_model("catalogue", "Category")
Partner = get_model("partner", "Partner")
ProductCategory = get_model("catalogue", "ProductCategory")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def from_the_database(settings):
    settings.STOREFRONT_CACHE_SECONDS = 0
    settings.OSCAR_PRODUCTS_PER_PAGE = 3


@pytest.fixture
def fruit_tree():
    """鲜果 › 桃; five peaches in 桃 (one also filed under 鲜果), one of a suspended shop, one paused."""
    fruit = category("鲜果", "Fresh fruit")
    peaches = category("桃", "Peaches", parent=fruit)
    shop = ShopFactory()
    products = [ProductFactory(title=f"水蜜桃{i}号", shop=shop) for i in range(5)]
    for product in products:
        ProductCategory.objects.create(product=product, category=peaches)
    ProductCategory.objects.create(product=products[0], category=fruit)
    closed = ProductFactory(title="关门店的桃", shop=ShopFactory(status=Partner.Status.SUSPENDED))
    ProductCategory.objects.create(product=closed, category=peaches)
    paused = ProductFactory(title="暂停的桃", shop=shop, is_public=False)
    ProductCategory.objects.create(product=paused, category=peaches)
    return fruit, peaches, shop


def counted(category_) -> int:
    return Category.objects.get(pk=category_.pk).public_product_count


def test_a_categorys_kept_count_is_its_products_on_sale_below_it_each_once(fruit_tree):
    fruit, peaches, _shop = fruit_tree
    assert category_product_counts_refresh() == Category.objects.count()
    assert (
        counted(fruit) == 5
    )  # the peach filed twice counts once; the suspended shop's and the paused do not
    assert counted(peaches) == 5


def shown(client, url: str) -> list[str]:
    page = client.get(url).content.decode()
    return [title for title in (f"水蜜桃{i}号" for i in range(5)) if title in page]


@pytest.mark.parametrize("page", ["category", "shop"])
def test_an_agreeing_kept_count_is_used_and_nothing_is_counted(client, fruit_tree, page):
    fruit, _peaches, shop = fruit_tree
    shop_product_counts_refresh()
    category_product_counts_refresh()
    url = fruit.get_absolute_url() if page == "category" else shop.get_absolute_url()
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        first, second = shown(client, url), shown(client, url + "?page=2")
    assert sorted(first + second) == [f"水蜜桃{i}号" for i in range(5)]
    assert not [q for q in queries if "COUNT(" in q["sql"] and "catalogue_product" in q["sql"]]


@pytest.mark.parametrize("lag", [-3, -1, +1, +4])
@pytest.mark.parametrize("page", ["category", "shop"])
def test_a_kept_count_that_lags_a_change_is_not_trusted(client, fruit_tree, page, lag):
    fruit, _peaches, shop = fruit_tree
    shop_product_counts_refresh()
    category_product_counts_refresh()
    Category.objects.filter(pk=fruit.pk).update(public_product_count=5 + lag)
    Partner.objects.filter(pk=shop.pk).update(public_product_count=5 + lag)
    url = fruit.get_absolute_url() if page == "category" else shop.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    assert sorted(shown(client, url) + shown(client, url + "?page=2")) == [f"水蜜桃{i}号" for i in range(5)]


@pytest.mark.parametrize("page", ["category", "shop"])
@pytest.mark.parametrize("number", ["3", "99999999999999999999999", "0", "-1", "x"])
def test_a_page_past_the_end_is_not_found(client, fruit_tree, page, number):
    """Past the kept count's end (or beyond the database's integers) the paginator decides: 404, not a
    database error (the hostile-input walk found the unbounded OFFSET on PostgreSQL)."""
    fruit, _peaches, shop = fruit_tree
    shop_product_counts_refresh()
    category_product_counts_refresh()
    url = fruit.get_absolute_url() if page == "category" else shop.get_absolute_url()
    assert client.get(url, {"page": number}).status_code == 404

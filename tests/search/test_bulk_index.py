"""The bulk indexer (``products_index_bulk``, behind ``products_index`` and ``search_index_rebuild``)
writes exactly the rows the per-product indexer (``product_index``, the outbox subscriber) writes."""

import io

import pytest
from django.core.management import call_command
from oscar.core.loading import get_model

from marketplace.search.indexing import product_index, products_index, products_index_bulk
from marketplace.search.models import ProductSearchDocument, SearchToken
from tests.factories import (
    ProductClassFactory,
    ProductFactory,
    RegionFactory,
    ShopFactory,
    category,
    region_chain,
)

Product = get_model("catalogue", "Product")
Region = get_model("places", "Region")

pytestmark = pytest.mark.django_db


def index_rows() -> tuple[dict[int, str], set[tuple[int, str]]]:
    documents = dict(ProductSearchDocument.objects.values_list("product_id", "text"))
    tokens = set(SearchToken.objects.values_list("product_id", "token"))
    return documents, tokens


def index_clear() -> None:
    SearchToken.objects.all().delete()
    ProductSearchDocument.objects.all().delete()


@pytest.fixture
def varied_products():
    """Products that differ in everything the text is built from: with and without a shop place,
    an origin village, several categories (listed out of path order), English names, a UPC, a
    variety, full-width and upper-case letters."""
    chain = region_chain()
    placed = ShopFactory(name="桃源果园", name_en="Taoyuan Orchard", **chain)
    bare = ShopFactory(name="龙谷茶舍", name_en="")
    town_only = ShopFactory(name="山里人家", name_en="Mountain Home", town=chain["town"])
    other_village = RegionFactory(
        name="宏村", name_en="Hongcun", level=Region.Level.VILLAGE, parent=chain["town"]
    )
    fruit = category("鲜果", "Fresh fruit")
    peaches = category("水蜜桃", "Honey peaches", parent=fruit)
    gifts = category("礼盒", "")
    tea_class = ProductClassFactory(name="茶叶", slug="tea")
    products = [
        ProductFactory(
            title="阳山水蜜桃 湖景蜜露 12只装",
            title_en="Yangshan HONEY peach, 12 fruit",
            variety="湖景蜜露",
            variety_en="Hujing Milu",
            shop=placed,
            origin_village=chain["village"],
        ),
        ProductFactory(title="龙谷丽人茶 明前", title_en="", upc=None, shop=bare, product_class=tea_class),
        ProductFactory(title="ＡＢＣ全角 笋干500克", title_en="Dried bamboo shoots", shop=town_only),
        ProductFactory(
            title="宏村土蜂蜜", title_en="Hongcun honey", shop=placed, origin_village=other_village
        ),
    ]
    # Categories added out of path order: the text lists them as product.categories.all() does.
    products[0].categories.add(gifts, peaches, fruit)
    products[2].categories.add(gifts)
    return products


def test_bulk_index_writes_the_same_documents_and_tokens_as_the_per_product_indexer(varied_products):
    index_clear()
    for product in varied_products:
        assert product_index(product_id=product.pk).found
    one_by_one = index_rows()
    index_clear()

    indexed = products_index_bulk(product_ids=[p.pk for p in varied_products])

    assert indexed == len(varied_products)
    assert index_rows() == one_by_one
    documents, tokens = one_by_one
    assert len(documents) == len(varied_products)
    # The text really holds what the per-product path reads: categories, shop, places, origin.
    first = documents[varied_products[0].pk]
    for part in (
        "礼盒",
        "鲜果",
        "水蜜桃",
        "honey peaches",
        "桃源果园",
        "遂昌县",
        "湖山乡",
        "黄沙腰村",
        "hujing",
    ):
        assert part in first
    assert (varied_products[3].pk, "宏村") in tokens


def test_bulk_reindex_replaces_stale_rows_and_ignores_ids_of_no_product(varied_products):
    products_index()
    peach, tea, *_rest = varied_products
    Product.objects.filter(pk=peach.pk).update(title="白凤水蜜桃", title_en="Baifeng peach")
    missing = max(p.pk for p in varied_products) + 1000
    SearchToken.objects.create(product=peach, token="stale")

    products_index_bulk(product_ids=[peach.pk, missing])
    bulk = index_rows()
    index_clear()
    product_index(product_id=peach.pk)
    expected_peach = index_rows()

    assert bulk[0][peach.pk] == expected_peach[0][peach.pk]
    assert {t for t in bulk[1] if t[0] == peach.pk} == expected_peach[1]
    assert (peach.pk, "stale") not in bulk[1]
    assert (peach.pk, "只装") not in bulk[1]  # from the old title only
    assert missing not in bulk[0]
    # products not named are left as they were
    assert tea.pk in bulk[0]


def test_products_index_rebuilds_everything_in_batches_like_one_by_one(varied_products):
    for product in varied_products:
        product_index(product_id=product.pk)
    one_by_one = index_rows()
    index_clear()

    assert products_index(batch_size=3) == len(varied_products)
    assert index_rows() == one_by_one


def test_bulk_index_query_count_does_not_grow_with_the_batch(django_assert_max_num_queries):
    shop = ShopFactory(**region_chain())
    fruit = category("鲜果", "Fresh fruit")
    few = [ProductFactory(shop=shop) for _n in range(3)]
    many = [ProductFactory(shop=shop) for _n in range(60)]
    for product in few + many:
        product.categories.add(fruit)

    # two reads, two deletes, the documents, the tokens (and the savepoint around them)
    with django_assert_max_num_queries(8):
        assert products_index_bulk(product_ids=[p.pk for p in few]) == 3
    with django_assert_max_num_queries(8):
        assert products_index_bulk(product_ids=[p.pk for p in many]) == 60
    assert ProductSearchDocument.objects.count() == 63


def test_the_rebuild_command_indexes_every_product_and_prints_its_rate(varied_products):
    index_clear()
    out = io.StringIO()

    call_command("search_index_rebuild", stdout=out)

    assert ProductSearchDocument.objects.count() == len(varied_products)
    assert SearchToken.objects.filter(product=varied_products[0], token="水蜜").exists()
    assert "indexed 4 products" in out.getvalue()
    assert "products/s" in out.getvalue()

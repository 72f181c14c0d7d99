"""Many listings at once (``shops.listings_bulk``): what the farmer's import, the demo and the benchmark's
catalogue create, with the search index written per batch and the storefront's cache bumped once."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from oscar.core.loading import get_model

from marketplace.outbox.models import OutboxMessage
from marketplace.search.indexing import product_index
from marketplace.search.models import ProductSearchDocument, SearchToken
from marketplace.search.tasks import PRODUCT_CHANGED
from marketplace.storefront.caching import CATALOGUE_CHANGED
from shops.imports import import_rows_read, listings_import
from shops.listings import ListingData
from shops.listings_bulk import ListingRowError, NewListing, listings_create_bulk
from tests.factories import ProductClassFactory, ProductFactory, RegionFactory, ShopFactory, category

Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")
Certification = get_model("catalogue", "Certification")
ProductAttribute = get_model("catalogue", "ProductAttribute")
ProductAttributeValue = get_model("catalogue", "ProductAttributeValue")
ProductImage = get_model("catalogue", "ProductImage")
Region = get_model("places", "Region")

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    fruit = category("鲜果", "Fresh fruit")
    peaches = category("水蜜桃", "Honey peaches", parent=fruit)
    fruit_class = ProductClassFactory(name="鲜果", slug="fresh-fruit")
    ProductAttribute.objects.create(
        product_class=fruit_class, name="果数", code="fruit_count", type="integer"
    )
    return {
        "peaches": peaches,
        "fruit_class": fruit_class,
        "gi": Certification.objects.create(code="gi", name="地理标志", name_en="Geographical indication"),
        "shop": ShopFactory(
            code="farm", name="桃源果园", village=RegionFactory(name="黄沙腰村", level=Region.Level.VILLAGE)
        ),
        "reviewed_shop": ShopFactory(code="new-farm", listing_review_required=True),
    }


def peach(world, n: int, **changes) -> ListingData:
    fields = {
        "title": f"阳山水蜜桃{n}号",
        "title_en": f"Yangshan honey peach {n}",
        "category_id": world["peaches"].pk,
        "product_class_id": world["fruit_class"].pk,
        "price": Decimal("168.00"),
        "stock": 20 + n,
        "certification_ids": (world["gi"].pk,),
        "sku": f"PEACH-{n:04d}",
    }
    fields.update(changes)
    return ListingData(**fields)


def test_bulk_creates_each_listing_with_stock_category_certification_attribute_photo_and_index(world):
    shop = world["shop"]
    listings = [
        NewListing(
            shop=shop,
            data=peach(world, n),
            upc=f"69{n:011d}",
            image="bench/produce.jpg",
            attributes={"fruit_count": 12},
        )
        for n in range(1, 8)
    ]

    products = listings_create_bulk(listings=listings, batch_size=3)

    assert len(products) == 7
    last = Product.objects.get(upc=f"69{7:011d}")
    assert (last.title, last.shop, last.origin_village, last.listing_status, last.is_public) == (
        "阳山水蜜桃7号",
        shop,
        shop.village,
        Product.ListingStatus.LIVE,
        True,
    )
    record = StockRecord.objects.get(product=last)
    assert (record.partner, record.partner_sku, record.price, record.num_in_stock, record.num_allocated) == (
        shop,
        "PEACH-0007",
        Decimal("168.00"),
        27,
        0,
    )
    assert list(last.categories.all()) == [world["peaches"]]
    assert list(last.certifications.all()) == [world["gi"]]
    assert ProductAttributeValue.objects.get(product=last, attribute__code="fruit_count").value_integer == 12
    assert list(ProductImage.objects.filter(product=last).values_list("original", "display_order")) == [
        ("bench/produce.jpg", 0)
    ]
    assert Product.objects.storefront().filter(shop=shop).count() == 7
    # the search index is written with the batch: the same rows the per-product indexer writes
    bulk_rows = set(SearchToken.objects.filter(product=last).values_list("token", flat=True))
    bulk_text = ProductSearchDocument.objects.get(product=last).text
    product_index(product_id=last.pk)
    assert set(SearchToken.objects.filter(product=last).values_list("token", flat=True)) == bulk_rows
    assert ProductSearchDocument.objects.get(product=last).text == bulk_text
    assert "桃源果园" in bulk_text


def test_bulk_listings_keep_their_harvest_window_and_the_shops_count(
    world, django_capture_on_commit_callbacks
):
    shop = world["shop"]
    with django_capture_on_commit_callbacks(execute=True):
        listings_create_bulk(
            listings=[
                NewListing(shop=shop, data=peach(world, 1, harvest_start_month=6, harvest_end_month=8)),
                NewListing(shop=shop, data=peach(world, 2, harvest_start_month=11, harvest_end_month=2)),
                NewListing(shop=shop, data=peach(world, 3)),
            ]
        )
    windows = dict(Product.objects.filter(shop=shop).values_list("title", "harvest_window_months"))
    assert windows == {"阳山水蜜桃1号": 2, "阳山水蜜桃2号": 3, "阳山水蜜桃3号": None}
    # Counted after the commit, through the outbox's catalogue event (bulk_create sends no signal).
    shop.refresh_from_db()
    assert shop.public_product_count == 3


def test_no_per_product_follow_ups_only_one_cache_bump(world):
    OutboxMessage.objects.all().delete()

    listings_create_bulk(
        listings=[NewListing(shop=world["shop"], data=peach(world, n)) for n in range(1, 21)]
    )

    assert not OutboxMessage.objects.filter(topic=PRODUCT_CHANGED).exists()
    assert OutboxMessage.objects.filter(topic=CATALOGUE_CHANGED).count() == 1
    assert ProductSearchDocument.objects.count() == 20


def test_a_shop_under_review_gets_its_listings_awaiting_review_and_automatic_codes(world):
    shop = world["reviewed_shop"]

    products = listings_create_bulk(
        listings=[NewListing(shop=shop, data=peach(world, n, sku="")) for n in range(1, 4)]
    )

    assert {(p.listing_status, p.is_public) for p in products} == {
        (Product.ListingStatus.AWAITING_REVIEW, False)
    }
    assert sorted(StockRecord.objects.filter(partner=shop).values_list("partner_sku", flat=True)) == [
        "NEW-FARM-0001",
        "NEW-FARM-0002",
        "NEW-FARM-0003",
    ]


def test_a_listing_whose_code_the_shop_already_uses_names_its_index_and_writes_nothing(world):
    shop = world["shop"]
    ProductFactory(shop=shop, upc="OLD")  # its code is SKU-OLD
    listings = [NewListing(shop=shop, data=peach(world, n)) for n in range(1, 5)]
    listings[2] = NewListing(shop=shop, data=peach(world, 3, sku="SKU-OLD"))

    with translation.override("en"), pytest.raises(ListingRowError) as error:
        listings_create_bulk(listings=listings, batch_size=2)

    assert error.value.index == 2
    assert str(error.value) == "The shop already has a listing with the code “SKU-OLD”."
    assert Product.objects.filter(shop=shop).count() == 1
    assert ProductSearchDocument.objects.count() == 0


def test_an_attribute_the_kind_does_not_have_is_refused_and_nothing_is_written(world):
    shop = world["shop"]
    listings = [
        NewListing(shop=shop, data=peach(world, 1)),
        NewListing(shop=shop, data=peach(world, 2), attributes={"sweetness": 14}),
    ]

    with pytest.raises(ListingRowError) as error:
        listings_create_bulk(listings=listings)

    assert error.value.index == 1
    assert "sweetness" in str(error.value)
    assert not Product.objects.filter(shop=shop).exists()
    assert not StockRecord.objects.filter(partner=shop).exists()


# The farmer's import goes through it -----------------------------------------------------------------

HEADER = ["名称", "分类", "种类", "单价", "库存", "认证", "编码"]


def upload(rows: int) -> SimpleUploadedFile:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(
        [f"阳山水蜜桃{n}号", "鲜果 > 水蜜桃", "鲜果", "168", "20", "地理标志", f"P-{n:04d}"]
        for n in range(1, rows + 1)
    )
    return SimpleUploadedFile("listings.csv", text.getvalue().encode("utf-8-sig"), content_type="text/csv")


# Reading the names (3) and the codes taken (1); in the write's savepoint the shop's codes (2), the batch's
# products, stock records (in a savepoint), categories and certifications, its index (two reads, two
# deletes, documents, tokens, in a savepoint), what the import moves in the kept lists (1) and the cache
# bump's outbox row (2). SQLite takes 999
# parameters a statement, so it splits the INSERT of 100 products in 4 and of their stock records in 2:
# the only queries that grow with the rows.
IMPORT_QUERY_BUDGET = 28


def test_importing_100_rows_takes_the_same_queries_as_10_but_for_sqlites_split_inserts(
    world, django_assert_max_num_queries
):
    other_shop = ShopFactory(code="farm-2")
    other = {}
    for rows, shop in ((10, world["shop"]), (100, other_shop)):
        read = import_rows_read(upload=upload(rows))
        with django_assert_max_num_queries(IMPORT_QUERY_BUDGET) as captured:
            products = listings_import(shop=shop, rows=read)
        other[rows] = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("INSERT")]

        assert len(products) == rows
        assert StockRecord.objects.filter(partner=shop).count() == rows
        in_place = Product.objects.filter(shop=shop, categories=world["peaches"], certifications=world["gi"])
        assert in_place.count() == rows
        assert ProductSearchDocument.objects.filter(product__shop=shop).count() == rows
    assert len(other[100]) == len(other[10])

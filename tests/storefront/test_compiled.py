"""Hot storefront reads compiled once or read plainly (marketplace/storefront/compiled.py): each gives what
the ORM query it stands for gives, and a query that is not a function of its argument alone is refused."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.core.loading import get_model

from marketplace.storefront import selectors
from marketplace.storefront.compiled import CompiledRows, json_ids, rows_where
from tests.factories import ProductFactory, ShopFactory, category, region_chain

Partner = get_model("partner", "Partner")
Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.django_db


@pytest.fixture
def shops():
    places = region_chain()
    open_shop, other = ShopFactory(**places), ShopFactory(county=places["county"])
    closed = ShopFactory(status=Partner.Status.SUSPENDED)
    for shop in (open_shop, other, closed):
        for _ in range(4):
            ProductFactory(shop=shop)
    hidden = ProductFactory(shop=open_shop)
    Product.objects.filter(pk=hidden.pk).update(is_public=False)
    return open_shop, other, closed


def test_a_shops_first_page_is_what_its_queryset_gives(shops):
    for shop in shops:
        for size in (2, 3, 24):
            expected = list(selectors.shop_products(shop=shop).values_list("pk", flat=True)[: size + 1])
            assert selectors.shop_first_page(shop_id=shop.pk, page_size=size) == expected
    assert selectors.shop_first_page(shop_id=shops[2].pk, page_size=24) == []  # a closed shop lists nothing


def test_compiled_rows_compile_once_and_run_with_each_argument(shops):
    built = []

    def build(pk):
        built.append(pk)
        return Product.objects.filter(shop_id=pk).order_by("pk").values_list("pk", "is_public")

    rows = CompiledRows(build)
    for shop in shops:
        expected = list(Product.objects.filter(shop=shop).order_by("pk").values_list("pk", "is_public"))
        assert [(pk, bool(public)) for pk, public in rows(shop.pk)] == expected
    assert len(built) == 2  # twice on the first call (two sentinels), never again


def test_a_query_that_is_not_a_function_of_its_argument_alone_is_refused():
    counter = itertools.count()
    drifting = CompiledRows(
        lambda pk: Product.objects.filter(shop_id=pk, pk__gt=next(counter)).values_list("pk")
    )
    with pytest.raises(ValueError, match="depend on its argument only"):
        drifting(1)
    twice = CompiledRows(lambda pk: Product.objects.filter(shop_id=pk, pk=pk).values_list("pk"))
    with pytest.raises(ValueError, match="appear once"):
        twice(1)


def test_the_shop_is_read_with_its_places_as_the_orm_reads_it(shops):
    shop = shops[0]
    read = selectors.shop_for_page(code=shop.code)
    orm = Partner.objects.select_related(*selectors.SHOP_PLACES).get(pk=shop.pk)
    with CaptureQueriesContext(connection) as queries:
        for place in selectors.SHOP_PLACES:
            assert getattr(read, place) == getattr(orm, place)
            assert getattr(read, place).name == getattr(orm, place).name
    assert len(queries) == 0  # the places came with it
    for field in Partner._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    assert selectors.shop_for_page(code=shops[1].code).town is None
    assert selectors.shop_for_page(code="no-such-shop") is None
    Partner.objects.filter(pk=shop.pk).update(status=Partner.Status.APPLIED)
    assert selectors.shop_for_page(code=shop.code) is None  # an applicant has no page yet


def test_a_categorys_public_children_are_treebeards_in_tree_order():
    fruit = category("鲜果", "Fruit")
    for name in ("桃", "梨", "橘"):
        category(name, parent=fruit)
    hidden = category("内部", parent=fruit)
    Category.objects.filter(pk=hidden.pk).update(is_public=False)
    grandchild = category("水蜜桃", parent=Category.objects.get(name="桃"))
    fruit.refresh_from_db()
    expected = list(fruit.get_children().filter(is_public=True))
    assert selectors.public_children(category=fruit) == expected
    assert [c.name for c in expected] == ["桃", "梨", "橘"]
    assert selectors.public_children(category=grandchild) == []
    assert selectors.category_for_page(pk=fruit.pk).name == "鲜果"
    assert selectors.category_for_page(pk=10**9) is None


def test_rows_are_converted_as_the_orm_converts_them(shops):
    shop = shops[0]
    (read,) = rows_where(Partner, f"{connection.ops.quote_name('id')} = %s", [shop.pk])
    orm = Partner.objects.get(pk=shop.pk)
    assert read.joined_on == orm.joined_on
    assert type(read.joined_on) is type(orm.joined_on)
    assert read.listing_review_required is orm.listing_review_required


def test_json_ids_read_text_or_decoded_lists_and_refuse_anything_else():
    assert json_ids("[3, 1]") == [3, 1]
    assert json_ids([3, 1]) == [3, 1]
    with pytest.raises(TypeError):
        json_ids('{"a": 1}')

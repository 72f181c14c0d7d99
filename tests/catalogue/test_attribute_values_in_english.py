"""A listing's facts read in the reader's language: an option fact by its option's English name, a text
fact by the English its listing gives (issue 15, point 1)."""

from decimal import Decimal

import pytest
from django.utils import translation
from oscar.core.loading import get_model

from shops.listings_bulk import ListingRowError, NewListing, listings_create_bulk
from tests.factories import ProductFactory
from tests.shops.console.test_listings_bulk import peach, world  # noqa: F401  (the fixture)

AttributeOption = get_model("catalogue", "AttributeOption")
AttributeOptionGroup = get_model("catalogue", "AttributeOptionGroup")
ProductAttribute = get_model("catalogue", "ProductAttribute")
ProductAttributeValue = get_model("catalogue", "ProductAttributeValue")

pytestmark = pytest.mark.django_db


@pytest.fixture
def honey():
    product = ProductFactory(title="高山百花蜜 500克", stock=(Decimal("68.00"), 9))
    species = AttributeOptionGroup.objects.create(name="蜂种", code="honey.bee_species")
    chinese_bee = AttributeOption.objects.create(
        group=species, option="中华蜜蜂", option_en="Chinese honeybee"
    )
    AttributeOption.objects.create(group=species, option="意大利蜜蜂", option_en="Italian honeybee")
    bees = ProductAttribute.objects.create(
        product_class=product.product_class,
        code="bee_species",
        name="蜂种",
        name_en="Bee species",
        type=ProductAttribute.OPTION,
        option_group=species,
    )
    nectar = ProductAttribute.objects.create(
        product_class=product.product_class,
        code="nectar_source",
        name="蜜源",
        name_en="Nectar source",
        type="text",
    )
    ProductAttributeValue.objects.create(product=product, attribute=bees, value_option=chinese_bee)
    ProductAttributeValue.objects.create(
        product=product, attribute=nectar, value_text="枇杷花", value_text_en="Loquat blossom"
    )
    return product


def test_the_product_page_in_english_gives_the_facts_values_in_english(client, honey):
    client.cookies["django_language"] = "en"
    english = client.get(honey.get_absolute_url()).content.decode()
    assert '<th scope="row">Bee species</th><td>Chinese honeybee</td>' in english
    assert '<th scope="row">Nectar source</th><td>Loquat blossom</td>' in english
    assert "中华蜜蜂" not in english
    assert "枇杷花" not in english


def test_the_product_page_in_chinese_gives_the_facts_values_in_chinese(client, honey):
    chinese = client.get(honey.get_absolute_url()).content.decode()
    assert '<th scope="row">蜂种</th><td>中华蜜蜂</td>' in chinese
    assert '<th scope="row">蜜源</th><td>枇杷花</td>' in chinese


def test_a_text_fact_without_english_shows_the_farmers_words(honey):
    value = honey.attribute_values.get(attribute__code="nectar_source")
    value.value_text_en = ""
    with translation.override("en"):
        assert value.value_as_text == "枇杷花"
        assert value.summary() == "Nectar source: 枇杷花"


def test_an_option_fact_reads_in_the_readers_language_wherever_oscar_prints_it(honey):
    value = honey.attribute_values.get(attribute__code="bee_species")
    with translation.override("en"):
        assert (value.value_as_text, value.value_as_html, str(value.value_option)) == (
            "Chinese honeybee",
        ) * 3
    with translation.override("zh-hans"):
        assert value.summary() == "蜂种: 中华蜜蜂"


def test_bulk_listings_pick_an_option_by_its_chinese_text_and_keep_a_text_facts_english(world):  # noqa: F811
    fruit_class = world["fruit_class"]
    grades = AttributeOptionGroup.objects.create(name="果形", code="fresh-fruit.shape")
    round_ = AttributeOption.objects.create(group=grades, option="圆形", option_en="Round")
    ProductAttribute.objects.create(
        product_class=fruit_class,
        code="shape",
        name="果形",
        type=ProductAttribute.OPTION,
        option_group=grades,
    )
    ProductAttribute.objects.create(product_class=fruit_class, code="sweetness", name="糖度", type="text")

    [product] = listings_create_bulk(
        listings=[
            NewListing(
                shop=world["shop"],
                data=peach(world, 1),
                attributes={"shape": "圆形", "sweetness": "甜中带酸"},
                attributes_en={"sweetness": "Sweet with a little tartness"},
            )
        ]
    )

    values = {v.attribute.code: v for v in product.attribute_values.select_related("attribute")}
    assert values["shape"].value_option == round_
    assert (values["sweetness"].value_text, values["sweetness"].value_text_en) == (
        "甜中带酸",
        "Sweet with a little tartness",
    )


def test_bulk_listings_refuse_an_option_the_attribute_does_not_offer(world):  # noqa: F811
    grades = AttributeOptionGroup.objects.create(name="果形", code="fresh-fruit.shape")
    AttributeOption.objects.create(group=grades, option="圆形", option_en="Round")
    ProductAttribute.objects.create(
        product_class=world["fruit_class"], code="shape", name="果形", type="option", option_group=grades
    )

    with translation.override("en"), pytest.raises(ListingRowError) as error:
        listings_create_bulk(
            listings=[NewListing(shop=world["shop"], data=peach(world, 1), attributes={"shape": "方形"})]
        )

    assert error.value.index == 0
    assert str(error.value) == "“方形” is not one of the choices for “shape”."

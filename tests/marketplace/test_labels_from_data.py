"""Labels that come from data (categories, certifications, places, logistics partners) and dates are shown
in the reader's language: in English mode no Chinese name where an English one exists (issue 15, point 1)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from tests.factories import ProductFactory, category
from tests.shops.console.conftest import shop_a  # noqa: F401  (the fixture)

Certification = get_model("catalogue", "Certification")

pytestmark = pytest.mark.django_db


def in_english(client):
    client.cookies["django_language"] = "en"
    return client


def test_the_open_a_shop_form_lists_categories_in_english(client):
    category("鲜果", "Fresh fruit")
    category("茶叶", "Tea")
    page = in_english(client).get("/open-a-shop/").content.decode()
    assert "Fresh fruit" in page
    assert "Tea" in page
    assert "鲜果" not in page


def test_the_listing_form_offers_certifications_and_categories_in_english(shop_a):  # noqa: F811
    Certification.objects.create(code="organic", name="有机产品认证", name_en="Organic")
    peaches = category("水蜜桃", "Honey peaches", parent=category("鲜果", "Fresh fruit"))
    assert str(peaches) == "鲜果 > 水蜜桃"  # Chinese by default
    page = in_english(shop_a.client).get(reverse("console:listing-create")).content.decode()
    assert "Organic" in page
    assert "有机产品认证" not in page
    assert "Fresh fruit &gt; Honey peaches" in page or "Fresh fruit > Honey peaches" in page


def test_a_pre_sale_date_in_the_console_follows_the_language(shop_a):  # noqa: F811
    ships = datetime.date(2027, 6, 2)
    ProductFactory(shop=shop_a.shop, presale_ship_from=ships, stock=(Decimal("88.00"), 5))
    english = in_english(shop_a.client).get(reverse("console:listings")).content.decode()
    assert "June 2" in english
    assert "6月2日" not in english
    shop_a.client.cookies["django_language"] = "zh-hans"
    assert "6月2日" in shop_a.client.get(reverse("console:listings")).content.decode()


def test_a_category_page_is_titled_in_the_readers_language(client):
    fruit = category("鲜果", "Fresh fruit")
    english = in_english(client).get(fruit.get_absolute_url()).content.decode()
    assert "<title>Fresh fruit |" in english
    client.cookies["django_language"] = "zh-hans"
    assert "<title>鲜果 |" in client.get(fruit.get_absolute_url()).content.decode()


def test_a_products_facts_are_headed_in_the_readers_language(client):
    ProductAttribute = get_model("catalogue", "ProductAttribute")
    ProductAttributeValue = get_model("catalogue", "ProductAttributeValue")
    honey = ProductFactory(title="高山百花蜜 500克", stock=(Decimal("68.00"), 9))
    bees = ProductAttribute.objects.create(
        product_class=honey.product_class, code="bee_species", name="蜂种", name_en="Bee species", type="text"
    )
    ProductAttributeValue.objects.create(product=honey, attribute=bees, value_text="中华蜜蜂")
    english = in_english(client).get(honey.get_absolute_url()).content.decode()
    assert '<th scope="row">Bee species</th>' in english
    assert '<th scope="row">蜂种</th>' not in english
    client.cookies.clear()
    chinese = client.get(honey.get_absolute_url()).content.decode()
    assert '<th scope="row">蜂种</th>' in chinese

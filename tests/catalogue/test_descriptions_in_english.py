"""Descriptions of categories and products in the reader's language, on the page and in its meta
description (issue 15, point 1)."""

import pytest
from django.utils import translation

from tests.factories import ProductFactory, category

pytestmark = pytest.mark.django_db


@pytest.fixture
def fruit():
    fruit = category("鲜果", "Fresh fruit")
    fruit.description = "当季采摘的新鲜水果，冷链直发。"
    fruit.description_en = "Fruit picked in season and sent by cold chain."
    fruit.meta_description = "阳山水蜜桃、遂昌鲜果"
    fruit.save()
    return fruit


def test_a_category_page_in_english_is_described_in_english(client, fruit):
    client.cookies["django_language"] = "en"
    page = client.get(fruit.get_absolute_url()).content.decode()
    assert "Fruit picked in season and sent by cold chain." in page
    assert "当季采摘" not in page
    assert '<meta name="description" content="Fruit picked in season and sent by cold chain."' in page


def test_a_category_page_in_chinese_is_described_in_chinese(client, fruit):
    page = client.get(fruit.get_absolute_url()).content.decode()
    assert "当季采摘的新鲜水果，冷链直发。" in page
    assert "Fruit picked in season" not in page


def test_a_category_without_english_keeps_its_chinese_description(fruit):
    fruit.description_en = ""
    with translation.override("en"):
        assert fruit.display_description == "当季采摘的新鲜水果，冷链直发。"
        assert fruit.get_meta_description() == "阳山水蜜桃、遂昌鲜果"


def test_a_product_page_in_english_has_an_english_meta_description(client):
    peach = ProductFactory(
        description="湖景蜜露，皮薄多汁。",
        description_en="Hujing Milu, thin-skinned and juicy.",
        meta_description="阳山水蜜桃",
    )
    client.cookies["django_language"] = "en"
    page = client.get(peach.get_absolute_url()).content.decode()
    assert '<meta name="description" content="Hujing Milu, thin-skinned and juicy."' in page

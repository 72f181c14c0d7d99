"""Kinds of produce (product classes) named in the reader's language (issue 15, point 1)."""

import pytest
from django.urls import reverse
from django.utils import translation

from shops.imports import _CatalogueNames
from tests.factories import ProductClassFactory
from tests.shops.console.conftest import shop_a  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_a_kind_is_named_in_the_readers_language():
    honey = ProductClassFactory(name="蜂蜜", name_en="Honey", slug="honey")
    with translation.override("en"):
        assert str(honey) == "Honey"
    with translation.override("zh-hans"):
        assert str(honey) == "蜂蜜"


def test_the_listing_form_offers_kinds_in_english(shop_a):  # noqa: F811
    ProductClassFactory(name="蜂蜜", name_en="Honey", slug="honey")
    shop_a.client.cookies["django_language"] = "en"
    page = shop_a.client.get(reverse("console:listing-create")).content.decode()
    assert ">Honey</option>" in page
    assert "蜂蜜" not in page


def test_an_import_row_may_name_its_kind_in_english():
    honey = ProductClassFactory(name="蜂蜜", name_en="Honey", slug="honey")
    names = _CatalogueNames()
    assert names.kind("Honey") == names.kind("蜂蜜") == honey.pk

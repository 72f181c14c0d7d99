"""A region's name in the reader's language: its English name, else its Chinese name in pinyin."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import RegionFactory, region_chain
from tests.logistics.conftest import demo_logistics, tea, tea_shop  # noqa: F401  (the fixtures)
from tests.logistics.test_portal import consignment, partner_client  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_a_village_without_an_english_name_is_written_in_pinyin_in_english():
    village = RegionFactory(name="大竹小村", name_en="", level=5)
    with translation.override("en"):
        assert village.display_name == "Dazhuxiao Village"
        assert str(village) == "Dazhuxiao Village"
    with translation.override("zh-hans"):
        assert village.display_name == "大竹小村"


def test_a_hand_written_english_name_wins_over_pinyin():
    town = RegionFactory(name="阳山镇", name_en="Yangshan (peach town)", level=4)
    with translation.override("en"):
        assert town.display_name == "Yangshan (peach town)"


def test_a_place_page_is_titled_in_pinyin_for_a_village_added_without_english(client):
    village = region_chain(village="大竹小村")["village"]
    village.name_en = ""
    village.save(update_fields=["name_en"])
    client.cookies["django_language"] = "en"
    page = client.get(village.get_absolute_url()).content.decode()
    assert "Dazhuxiao Village" in page
    assert "大竹小村" not in page


def test_the_partner_portal_gives_a_legs_places_in_english(consignment):  # noqa: F811
    """A county loaded from GB/T 2260 has no English name; the portal writes it in pinyin (the delivery
    address below stays as the buyer wrote it, for the courier)."""
    leg = consignment.legs.order_by("sequence").last()
    client = partner_client(leg.partner.code)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("logistics_portal:leg", kwargs={"pk": leg.pk})).content.decode()
    assert "<dd>Shanghai Pudong New Area</dd>" in page

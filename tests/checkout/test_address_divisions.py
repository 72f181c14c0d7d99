"""The delivery address's city and county are checked against (and suggested from) the region tree of
China's divisions (marketplace/places/divisions.py)."""

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.checkout.forms import CheckoutForm
from marketplace.places.divisions import divisions_load, divisions_read
from tests.checkout.conftest import ADDRESS

Region = get_model("places", "Region")

pytestmark = pytest.mark.django_db


@pytest.fixture
def divisions():
    return divisions_load()


def form_with(**changes) -> CheckoutForm:
    return CheckoutForm(
        data={**ADDRESS, "pay_with": "card", "payment_method": "card_123", **changes}, guest=True
    )


def test_the_divisions_fold_placeholders_the_way_addresses_are_written():
    by_code = {d.code: d for d in divisions_read()}
    assert (by_code["310100"].name, by_code["310100"].parent_code) == ("上海市", "310000")  # 市辖区 → 上海市
    assert by_code["310115"].parent_code == "310100"  # 浦东新区 under it
    assert (by_code["429004"].name, by_code["429004"].level) == ("仙桃市", Region.Level.CITY)
    assert by_code["331123"].name == "遂昌县"
    assert not [d for d in by_code.values() if d.name in ("市辖区", "县", "省直辖县级行政区划")]
    assert sum(1 for d in by_code.values() if d.level == Region.Level.PROVINCE) == 34


def test_loading_twice_adds_nothing_the_second_time(divisions):
    assert divisions > 3000
    count = Region.objects.count()
    assert divisions_load() == 0
    assert Region.objects.count() == count


def test_a_city_and_county_of_the_province_are_accepted_and_completed(divisions):
    form = form_with(province="浙江", city="丽水", county="遂昌")
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["province"], form.cleaned_data["city"], form.cleaned_data["county"]) == (
        "浙江省",
        "丽水市",
        "遂昌县",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"province": "浙江省", "city": "无锡市", "county": "惠山区"}, "city"),  # Wuxi is in Jiangsu
        ({"province": "江苏省", "city": "无锡市", "county": "遂昌县"}, "county"),  # Suichang is in Lishui
        ({"province": "上海市", "city": "火星市"}, "city"),
    ],
)
def test_a_city_or_county_elsewhere_is_refused_with_a_clear_error(divisions, changes, field):
    form = form_with(**changes)
    assert not form.is_valid()
    assert list(form.errors) == [field]


def test_the_address_form_suggests_cities_then_counties(client, divisions):
    url = reverse("checkout:address-divisions")
    cities = client.get(url, {"province": "浙江"}).json()["names"]
    assert "丽水市" in cities
    assert "无锡市" not in cities
    counties = client.get(url, {"province": "浙江省", "city": "丽水市"}).json()["names"]
    assert "遂昌县" in counties
    assert client.get(url, {"province": "火星"}).json() == {"names": []}

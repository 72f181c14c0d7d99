"""Open data: public monthly sales by county, village and category, with no figure for a group of fewer
than 3 shops, not even one worked out by subtracting the published rows from a total."""

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.order.models import ShopOrder
from shops.sales.facts import sales_facts_rebuild
from shops.sales.open_data import OpenRow, rows_withhold
from tests.factories import ProductFactory, ShopFactory
from tests.shops.sales.conftest import sale

D = Decimal


@pytest.fixture
def county_of_five(world):
    """Suichang in March 2026: three tea shops in one village, one shop in another village, and one shop
    of the county with no village; Yangshan's single peach shop."""
    tea_shops = [world.tea_shop] + [
        ShopFactory(county=world.suichang, town=world.village_a.parent, village=world.village_a)
        for _ in range(2)
    ]
    for n, shop in enumerate(tea_shops):
        product = world.tea if shop == world.tea_shop else ProductFactory(shop=shop, stock=(D("50.00"), 50))
        product.categories.set([world.green_tea])
        sale((product, 1 + n), paid_at=f"2026-03-{n + 3:02d} 10:00")
    sale((world.shoots, 2), paid_at="2026-03-12 10:00")  # village B: one shop
    lone = ShopFactory(county=world.suichang)  # no village
    sale((ProductFactory(shop=lone, stock=(D("30.00"), 20)), 1), paid_at="2026-03-13 10:00")
    sale((world.peaches, 1), paid_at="2026-03-14 10:00")  # Yangshan: one shop
    sales_facts_rebuild(since=datetime.date(2026, 3, 1), until=datetime.date(2026, 3, 31))
    return world


def month(payload, label="2026-03"):
    return next(m for m in payload["months"] if m["month"] == label)


def test_open_data_is_public_and_hides_small_groups(client, county_of_five):
    response = client.get(reverse("open_data:json"))
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    march = month(json.loads(response.content))
    counties = {row["name"]: row for row in march["by_county"]}
    assert counties["惠山区"]["gross"] is None  # one shop
    assert (counties["惠山区"]["withheld"], counties["惠山区"]["orders"]) == ("few_shops", None)
    assert counties["惠山区"]["note"]
    villages = {row["name"]: row for row in march["by_village"]}
    assert villages["大柘村"]["gross"] is None  # one shop
    categories = {row["name"]: row for row in march["by_category"]}
    assert categories["茶叶"]["units"] == 6  # three tea shops: published
    assert categories["鲜果"]["gross"] is None
    text = response.content.decode()
    for private in ("guest@example.cn", "@", "buyer_key"):
        assert private not in text


def test_no_hidden_figure_can_be_worked_out_by_subtraction(client, county_of_five):
    march = month(json.loads(client.get(reverse("open_data:json")).content))
    # Suichang's published total minus its published villages would give 大柘村 plus the shop in no
    # village: two shops. So 黄沙腰村 (three shops) is withheld too.
    villages = {row["name"]: row for row in march["by_village"]}
    assert villages["黄沙腰村"]["gross"] is None
    assert villages["黄沙腰村"]["withheld"] == "protects_another"
    # With Yangshan (one shop) hidden, the month's total minus Suichang would reveal it: Suichang is
    # withheld as well, and no total is published anywhere.
    counties = {row["name"]: row for row in march["by_county"]}
    assert counties["遂昌县"]["gross"] is None
    categories = {row["name"]: row for row in march["by_category"]}
    # Categories: tea (three shops) is published; each other one comes from fewer than 3 shops.
    assert {name: row["withheld"] for name, row in categories.items()} == {
        "茶叶": None,
        "山货干货": "few_shops",
        "鲜果": "few_shops",
        "未分类": "few_shops",
    }
    assert "total" not in json.dumps(march).lower()


def test_withholding_rule_on_its_own():
    def rows(*sizes):
        return [OpenRow(name=f"r{i}", shops=set(range(i * 10, i * 10 + n))) for i, n in enumerate(sizes)]

    ok = rows(3, 4, 5)
    rows_withhold(ok, unlisted_shops=set())
    assert not any(r.withheld for r in ok)
    one_small = rows(3, 4, 1)
    rows_withhold(one_small, unlisted_shops=set())
    hidden = [r for r in one_small if r.withheld]
    assert {r.name for r in hidden} == {"r2", "r0"}  # the small one, then the smallest other to protect it
    assert len(set().union(*(r.shops for r in hidden))) >= 3
    unlisted = rows(5, 6)
    rows_withhold(unlisted, unlisted_shops={99})
    assert [r.withheld for r in unlisted] == ["protects_another", ""]


def test_a_county_with_three_shops_is_published(client, world):
    third = ShopFactory(county=world.suichang)
    sale((world.tea, 1), paid_at="2026-05-03 10:00")
    sale((world.shoots, 1), paid_at="2026-05-04 10:00")
    sale((ProductFactory(shop=third, stock=(D("30.00"), 20)), 1), paid_at="2026-05-05 10:00")
    sales_facts_rebuild(since=datetime.date(2026, 5, 1), until=datetime.date(2026, 5, 31))
    may = month(json.loads(client.get(reverse("open_data:json")).content), "2026-05")
    assert [(row["name"], row["orders"]) for row in may["by_county"]] == [("遂昌县", 3)]
    gross = D(may["by_county"][0]["gross"])
    assert gross == sum(so.total for so in ShopOrder.objects.all())


def test_csv_and_page(client, county_of_five):
    response = client.get(reverse("open_data:csv"))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by = {(r["breakdown"], r["name"]): r for r in rows if r["month"] == "2026-03"}
    assert by[("county", "惠山区")]["gross"] == ""
    assert by[("county", "惠山区")]["note"]
    assert by[("category", "茶叶")]["units"] == "6"
    page = client.get(reverse("open_data:index"))
    assert page.status_code == 200
    assert "茶叶" in page.content.decode()
    home = client.get("/")
    assert reverse("open_data:index") in home.content.decode()


def test_no_sales_yet(client, db):
    assert json.loads(client.get(reverse("open_data:json")).content)["months"] == []
    assert client.get(reverse("open_data:index")).status_code == 200


def test_the_public_page_sets_no_cookie_a_shared_cache_could_keep(client, county_of_five):
    response = client.get(reverse("open_data:index"))

    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert not response.cookies  # no CSRF (or any) cookie on a publicly cacheable answer


def test_the_language_switch_works_without_a_csrf_token(db):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(reverse("set_language"), {"language": "en", "next": "/open-data/"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"


def test_each_language_gets_the_names_in_it_whatever_was_asked_first(client, county_of_five):
    """The published months are cached with their places' names: one copy per language."""
    client.cookies["django_language"] = "en"
    english = month(json.loads(client.get(reverse("open_data:json")).content))
    client.cookies["django_language"] = "zh-hans"
    chinese = month(json.loads(client.get(reverse("open_data:json")).content))
    assert "Dazhe" in {row["name"] for row in english["by_village"]}
    assert "大柘村" in {row["name"] for row in chinese["by_village"]}
    assert "Dazhe" not in {row["name"] for row in chinese["by_village"]}

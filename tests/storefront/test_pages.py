"""The storefront's pages as a buyer meets them: they list the right produce and never 500."""

import datetime
import re

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.search.indexing import products_index
from marketplace.storefront.selectors import products_in_season
from shops.listings import listing_pause
from tests.factories import ProductFactory, ShopFactory, category, region_chain

Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")

pytestmark = pytest.mark.django_db


@pytest.fixture
def market():
    places = region_chain()
    shop = ShopFactory(name="黄沙腰笋干铺", name_en="Huangshayao Shoots", code="hsy-shoots", **places)
    closed = ShopFactory(name="停业小店", code="closed-shop", status=Partner.Status.SUSPENDED, **places)
    dried = category("山货干货", "Dried mountain goods")
    shoots = ProductFactory(
        title="遂昌笋干",
        title_en="Suichang dried bamboo shoots",
        shop=shop,
        harvest_start_month=1,
        harvest_end_month=12,
        perishable=False,
    )
    ProductCategory.objects.create(product=shoots, category=dried)
    hidden = ProductFactory(title="停业笋干", title_en="Closed shop shoots", shop=closed)
    ProductCategory.objects.create(product=hidden, category=dried)
    products_index()
    return {"shop": shop, "closed": closed, "category": dried, "product": shoots, "hidden": hidden, **places}


def test_home_shows_produce_in_season_and_open_shops(client, market):
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["in_season"] == [market["product"].pk]
    assert list(response.context["shops"]) == [market["shop"]]
    assert "遂昌笋干" in response.content.decode()
    assert "停业笋干" not in response.content.decode()


def test_category_page_lists_only_open_shops_products(client, market):
    response = client.get(market["category"].get_absolute_url())
    assert response.status_code == 200
    assert list(response.context["products"]) == [market["product"].pk]


def test_shop_page_has_story_and_produce(client, market):
    response = client.get(reverse("storefront:shop", kwargs={"code": "hsy-shoots"}))
    assert response.status_code == 200
    assert list(response.context["products"]) == [market["product"].pk]
    assert "我们家三代种茶" in response.content.decode()


def test_suspended_shop_page_shows_no_products_and_applied_shop_is_not_found(client, market):
    response = client.get(reverse("storefront:shop", kwargs={"code": "closed-shop"}))
    assert response.status_code == 200
    assert list(response.context["products"]) == []
    ShopFactory(code="just-applied", status=Partner.Status.APPLIED)
    assert client.get(reverse("storefront:shop", kwargs={"code": "just-applied"})).status_code == 404


@pytest.mark.parametrize("level", ["county", "town", "village"])
def test_place_pages_list_produce_from_that_place(client, market, level):
    response = client.get(market[level].get_absolute_url())
    assert response.status_code == 200
    assert list(response.context["products"]) == [market["product"].pk]
    assert list(response.context["shops"]) == [market["shop"]]


def test_place_list_groups_towns_under_counties(client, market):
    response = client.get(reverse("storefront:place-list"))
    assert response.status_code == 200
    [entry] = response.context["places"]
    assert entry["county"] == market["county"]
    assert entry["towns"] == [market["town"]]


def test_product_page_shows_shop_village_variety_season_and_storage(client, market):
    product = market["product"]
    product.variety = "冬笋"
    product.save()
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    for expected in ("黄沙腰笋干铺", "黄沙腰村", "冬笋", "¥168.00"):
        assert expected in page, expected


def test_product_of_a_closed_shop_is_not_found(client, market):
    assert client.get(market["hidden"].get_absolute_url()).status_code == 404


def test_search_finds_by_chinese_and_english(client, market):
    for query in ("笋", "笋干", "bamboo", "遂昌"):
        response = client.get(reverse("search:search"), {"q": query})
        assert response.status_code == 200
        assert list(response.context["products"]) == [market["product"].pk], query


def test_english_switch_shows_english_names(client, market):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    assert response.status_code == 200
    assert "Suichang dried bamboo shoots" in response.content.decode()
    assert response.context["LANGUAGE_CODE"] == "en"


@pytest.mark.parametrize(
    "query",
    ["", "   ", "'; DROP TABLE catalogue_product; --", "桃" * 2000, "x" * 2000, "🍑🥭🍵", "%"],
)
def test_bad_search_input_gets_a_proper_page(client, market, query):
    response = client.get(reverse("search:search"), {"q": query})
    assert response.status_code == 200
    assert list(response.context["products"]) == []


def test_a_nul_in_the_search_is_a_bad_request(client, market):
    """As anywhere in a request (marketplace.request_checks): PostgreSQL cannot compare text holding one."""
    response = client.get(reverse("search:search"), {"q": "桃\x00"})

    assert response.status_code == 400
    assert 'data-testid="bad-request"' in response.content.decode()  # the site's page, in its language


@pytest.mark.parametrize(
    "url",
    [
        "/catalogue/no-such-thing_999999/",
        "/shops/no-such-shop/",
        "/places/999999/",
        "/catalogue/category/nothing_999999/",
        "/search/?q=%E6%A1%83&page=999",
        "/catalogue/?page=abc",
    ],
)
def test_missing_things_are_404_not_500(client, market, url):
    assert client.get(url).status_code == 404


def test_chinese_is_the_default_whatever_the_browser_asks(client, market):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.context["LANGUAGE_CODE"] == "zh-hans"
    assert "遂昌笋干" in response.content.decode()


def test_home_lists_the_most_seasonal_produce_first(client, market):
    shop = market["shop"]
    year_round = ProductFactory(title="黑猪肉", shop=shop, harvest_start_month=1, harvest_end_month=12)
    winter = ProductFactory(title="冬笋", shop=shop, harvest_start_month=11, harvest_end_month=2)
    in_november = products_in_season(on=datetime.date(2026, 11, 22))
    assert in_november.index(winter.pk) < in_november.index(year_round.pk)
    assert winter.pk not in products_in_season(on=datetime.date(2026, 6, 1))


def test_the_window_is_kept_with_every_save_of_the_harvest_months(market):
    product = ProductFactory(harvest_start_month=5, harvest_end_month=7)
    assert product.harvest_window_months == 2
    product.harvest_start_month, product.harvest_end_month = 12, 1
    product.save(update_fields=["harvest_start_month", "harvest_end_month"])
    product.refresh_from_db()
    assert product.harvest_window_months == 1
    product.harvest_start_month = None
    product.save()
    product.refresh_from_db()
    assert product.harvest_window_months is None


def test_a_shops_card_counts_its_products_on_sale_after_each_catalogue_change(
    client, market, django_capture_on_commit_callbacks
):
    shop = market["shop"]
    on_sale = Product.objects.storefront().filter(shop=shop).count()
    with django_capture_on_commit_callbacks(execute=True):
        extra = ProductFactory(title="遂昌 菊米", shop=shop)
    shop.refresh_from_db()
    assert shop.public_product_count == on_sale + 1
    card = next(card for card in client.get("/").context["shops"] if card.pk == shop.pk)
    assert card.product_count == on_sale + 1

    with django_capture_on_commit_callbacks(execute=True):
        listing_pause(product=extra)
    shop.refresh_from_db()
    assert shop.public_product_count == on_sale


def test_the_language_buttons_name_begins_with_what_it_shows(client, market):
    """WCAG 2.5.3 (label in name): a voice user says what they see ("EN") to press it."""
    for language, shown in (("zh-hans", "EN"), ("en", "中文")):
        client.cookies["django_language"] = language
        page = client.get("/").content.decode()
        button = re.search(r'<button class="tool"[^>]*aria-label="([^"]+)"[^>]*>([^<]+)</button>', page)
        assert button, language
        name, text = button[1], button[2].strip()
        assert text == shown
        assert name.startswith(text), (name, text)

"""Product cards are drawn once per change and read by every later page (marketplace/storefront/cards.py):
what a card shows is never stale after a change to it, whatever changed (the product, its price, photo,
certifications, kind, shop or the shop's places), a change to one product leaves the others' cards kept,
and a card drawn from data a change has since replaced is not kept."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from oscar.core.loading import get_model

from marketplace.storefront import cards
from marketplace.storefront.cards import product_cards_html, product_cards_stale
from marketplace.storefront.models import ProductCard
from shops.listings import listing_price_stock_set
from tests.factories import ProductFactory, ShopFactory, region_chain

Certification = get_model("catalogue", "Certification")
ProductImage = get_model("catalogue", "ProductImage")
StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    # Every page from the database: what is shown comes from the cards, not from stored fragments or pages.
    settings.STOREFRONT_CACHE_SECONDS = 0


@pytest.fixture
def two(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        shop = ShopFactory(**region_chain())
        peach = ProductFactory(title="阳山水蜜桃", shop=shop, stock=(Decimal("168.00"), 5))
        tea = ProductFactory(title="龙谷丽人茶", shop=peach.shop, stock=(Decimal("88.00"), 5))
    return peach, tea


def card(product) -> str:
    found = product_cards_html(product_ids=[product.pk])
    assert len(found) == 1
    return found[0]


def kept(product, language="zh-hans") -> ProductCard:
    return ProductCard.objects.get(product=product, language=language)


def test_a_card_is_drawn_once_then_read_with_one_query(two):
    peach, tea = two
    first = product_cards_html(product_ids=[peach.pk, tea.pk])
    assert "阳山水蜜桃" in first[0]
    assert "龙谷丽人茶" in first[1]
    assert kept(peach).html == first[0]

    with CaptureQueriesContext(connection) as queries:
        again = product_cards_html(product_ids=[tea.pk, peach.pk])
    assert again == [first[1], first[0]]  # in the order asked
    assert len(queries) == 1


def test_each_language_has_its_own_card(two, settings):
    peach, _tea = two
    peach.title_en = "Yangshan honey peach"
    peach.save()
    with translation.override("en"):
        english = card(peach)
    chinese = card(peach)
    assert "Yangshan honey peach" in english
    assert "阳山水蜜桃" in chinese
    assert {row.language for row in ProductCard.objects.filter(product=peach)} == {"en", "zh-hans"}


def test_a_price_change_redraws_that_card_only(two):
    peach, tea = two
    card(peach), card(tea)
    tea_drawn = kept(tea).html

    listing_price_stock_set(product=peach, price=Decimal("99.00"))

    assert kept(peach).html == ""  # emptied in the change's transaction
    assert "¥99.00" in card(peach)
    assert kept(tea).html == tea_drawn  # the other card untouched


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ("title", "白沙枇杷"),
        ("shop", "桃花源小店"),
        ("county", "松阳县"),
        ("certification", "有机认证"),
        ("kind", None),
    ],
)
def test_whatever_a_card_shows_a_change_to_it_redraws_the_card(two, change, shown):
    peach, _tea = two
    before = card(peach)
    if change == "title":
        peach.title = "白沙枇杷"
        peach.save()
    elif change == "shop":
        peach.shop.name = "桃花源小店"
        peach.shop.save()
    elif change == "county":
        county = peach.shop.county
        county.name = "松阳县"
        county.save()
    elif change == "certification":
        organic = Certification.objects.create(code="organic", name="有机认证", name_en="Organic")
        organic.products.add(peach)  # from the certification's side: the products named by id
    elif change == "kind":
        kind = peach.get_product_class()
        kind.track_stock = False  # its products are no longer sold out by stock: the card's state moves
        kind.save()
    assert kept(peach).html == ""
    after = card(peach)
    if shown:
        assert shown in after
        assert shown not in before
    assert kept(peach).html == after


def test_a_certification_cleared_from_all_its_products_redraws_their_cards(two):
    peach, tea = two
    organic = Certification.objects.create(code="organic", name="有机认证", name_en="Organic")
    organic.products.add(peach, tea)
    assert "有机认证" in card(peach)
    assert "有机认证" in card(tea)
    organic.products.clear()
    assert "有机认证" not in card(peach)
    assert "有机认证" not in card(tea)


def test_a_card_drawn_from_data_a_change_replaced_meanwhile_is_not_kept(two, monkeypatch):
    """The page reads the kept cards, then a change commits, then the page reads the products: what it
    drew is shown to that visitor (as any page in flight) but not kept for the next one."""
    peach, _tea = two
    card(peach)
    product_cards_stale([peach.pk])  # the card must be drawn again
    drawn_from_old_data = cards._cards_draw

    def draw_while_a_change_commits(product_ids):
        drawn = drawn_from_old_data(product_ids)  # read before the change
        StockRecord.objects.filter(product=peach).update(price=Decimal("77.00"))
        product_cards_stale([peach.pk])
        return drawn

    monkeypatch.setattr(cards, "_cards_draw", draw_while_a_change_commits)
    shown = card(peach)
    assert "¥168.00" in shown
    assert kept(peach).html == ""  # the old price is not kept
    monkeypatch.undo()
    assert "¥77.00" in card(peach)


def test_a_product_with_no_card_gets_an_emptied_row_on_change_so_an_old_drawing_is_not_kept(two, monkeypatch):
    peach, _tea = two
    ProductCard.objects.all().delete()  # as after the bulk path, which makes products without cards
    drawn_from_old_data = cards._cards_draw

    def draw_while_a_change_commits(product_ids):
        drawn = drawn_from_old_data(product_ids)
        StockRecord.objects.filter(product=peach).update(price=Decimal("77.00"))
        product_cards_stale([peach.pk])  # no card yet: an emptied row, generation 1
        return drawn

    monkeypatch.setattr(cards, "_cards_draw", draw_while_a_change_commits)
    card(peach)
    assert kept(peach).html == ""
    monkeypatch.undo()
    assert "¥77.00" in card(peach)


def test_a_card_is_drawn_again_on_a_new_day_for_its_season_flag(two, monkeypatch):
    peach, _tea = two
    peach.harvest_start_month, peach.harvest_end_month = 11, 11
    peach.save()
    monkeypatch.setattr(timezone, "localdate", lambda: datetime.date(2026, 11, 30))
    assert 'tag--season">' in card(peach)
    monkeypatch.setattr(timezone, "localdate", lambda: datetime.date(2026, 12, 1))
    assert 'tag--season">' not in card(peach)
    assert kept(peach).drawn_for.startswith("2026-12-01:")


def test_a_release_that_changes_the_card_redraws_it(two, monkeypatch):
    peach, _tea = two
    card(peach)
    monkeypatch.setattr(cards, "card_format", lambda: "next-release")
    with CaptureQueriesContext(connection) as queries:
        card(peach)
    assert len(queries) > 1  # drawn again: the product read and the card kept
    assert kept(peach).drawn_for.endswith(":next-release")


def test_a_page_that_cannot_keep_its_cards_still_shows_them(two, monkeypatch):
    peach, _tea = two

    def refuse(*args, **kwargs):
        raise DatabaseError("database is locked")

    ProductCard.objects.all().delete()
    monkeypatch.setattr(ProductCard.objects, "bulk_create", refuse)
    assert "阳山水蜜桃" in card(peach)
    assert not ProductCard.objects.filter(product=peach).exists()


def test_a_product_off_sale_has_no_card_drawn(two):
    peach, tea = two
    peach.is_public = False
    peach.save()
    assert product_cards_html(product_ids=[peach.pk, tea.pk]) == [card(tea)]


def test_deleting_a_product_with_a_photo_and_stock_deletes_its_cards(two):
    """Its photo and stock record go first and mark its cards stale on their way out; no card is left."""
    peach, tea = two
    ProductImage.objects.create(product=peach, original="does-not-matter.jpg", display_order=0)
    card(peach), card(tea)
    peach.delete()
    assert not ProductCard.objects.filter(product_id=peach.pk).exists()
    assert ProductCard.objects.filter(product=tea).exists()


def test_the_list_pages_show_the_kept_cards(client, two):
    peach, tea = two
    shop_page = peach.shop.get_absolute_url()
    client.get(shop_page)
    kept_html = kept(peach).html
    ProductCard.objects.filter(product=peach).update(html=kept_html.replace("阳山水蜜桃", "KEPT-CARD"))
    # Read as kept: the pages do not draw the card again.
    assert "KEPT-CARD" in client.get(shop_page).content.decode()
    assert "KEPT-CARD" in client.get("/catalogue/").content.decode()


def test_with_the_card_store_off_cards_are_drawn_every_time_and_nothing_is_kept(two, settings):
    peach, tea = two
    settings.STOREFRONT_CARD_STORE = False
    ProductCard.objects.all().delete()
    shown = product_cards_html(product_ids=[tea.pk, peach.pk])
    assert "龙谷丽人茶" in shown[0]
    assert "阳山水蜜桃" in shown[1]
    assert not ProductCard.objects.exists()

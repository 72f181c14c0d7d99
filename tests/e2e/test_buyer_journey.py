"""A buyer's first journey in the browser: home → search 水蜜桃 → a Yangshan peach → basket, on a desktop
and on a phone; and the switch to English."""

import re
from decimal import Decimal

import pytest
from oscar.core.loading import get_model
from playwright.sync_api import expect

from tests.e2e.conftest import Visit, price_in

Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.e2e


def check_page(visit: Visit, label: str, *, phone: bool) -> None:
    """Screenshot first (a failure leaves a picture), then: no 5xx so far, no sideways scroll on a phone."""
    visit.screenshot(label)
    visit.assert_no_server_error()
    if phone:
        visit.assert_no_horizontal_scroll()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_buyer_searches_peaches_and_sees_the_basket_total_in_yuan(demo_server, open_visit, viewport):
    phone = viewport == "phone"
    visit = open_visit(viewport, f"buyer-{viewport}")
    page = visit.page

    # Given the home page
    response = page.goto(f"{demo_server}/")
    assert response.status == 200
    check_page(visit, "home", phone=phone)

    # When the buyer searches 水蜜桃 from the header
    search_box = page.locator("header input[name=q]")
    search_box.fill("水蜜桃")
    with page.expect_navigation() as navigation:
        search_box.press("Enter")
    assert navigation.value.status == 200
    check_page(visit, "search", phone=phone)

    # Then only peaches are shown
    assert re.search(r"/search/\?(.*&)?q=", page.url), page.url
    cards = page.locator("#content_inner .product-card")
    expect(cards.first).to_be_visible()
    titles = cards.locator(".product-card__title").all_inner_texts()
    assert titles, "no result cards"
    assert all("桃" in title for title in titles), f"a result that is not a peach: {titles}"

    # When the buyer opens a peach from a shop in 阳山
    yangshan = cards.filter(has=page.locator(".product-card__origin", has_text="阳山"))
    assert yangshan.count() >= 1, "no result from a shop in 阳山"
    card = yangshan.first
    title = card.locator(".product-card__title").inner_text().strip()
    card_price = price_in(card.locator("[data-testid=product-price]").inner_text())
    with page.expect_navigation() as navigation:
        card.locator(".product-card__link").click()
    assert navigation.value.status == 200
    check_page(visit, "product", phone=phone)

    # Then the product page is that peach, from 阳山, at the card's price
    expect(page.locator(".buy-box h1")).to_contain_text(title)
    expect(page.locator("[data-testid=product-facts]")).to_contain_text("阳山")
    price = price_in(page.locator(".buy-box [data-testid=product-price]").inner_text())
    assert price == card_price

    # When the buyer adds one to the basket
    form = page.locator("#add_to_basket_form")
    expect(form.locator("[name=quantity]")).to_have_value("1")
    with page.expect_navigation() as navigation:
        form.locator("[type=submit]").click()
    assert navigation.value.status == 200
    expect(page.locator("[data-testid=basket-count]")).to_have_text("1")
    check_page(visit, "added", phone=phone)

    # Then the basket shows the peach and a total in ¥: one times its price plus its shop's delivery
    response = page.goto(f"{demo_server}/basket/")
    assert response.status == 200
    check_page(visit, "basket", phone=phone)
    expect(page.locator("#content_inner")).to_contain_text(title)
    [shop_shipping] = page.locator("[data-testid=basket-shop-shipping] td:last-child").all_inner_texts()
    shipping = price_in(shipping_text) if "¥" in (shipping_text := shop_shipping) else Decimal("0")
    total = page.locator("[data-testid=basket-total]")
    expect(total).to_contain_text("¥")
    assert price_in(total.inner_text()) == price * 1 + shipping

    # When the buyer makes it three and presses update (Oscar's script sends it and redraws the basket's
    # content), the header's badge follows: it stayed at 1 until a reload (found walking the basket)
    page.locator("#basket_formset input[name$='-quantity']").first.fill("3")
    page.locator("#basket_formset button[type=submit]").first.click()
    expect(page.locator("[data-testid=basket-count]")).to_have_text("3")
    expect(page.locator("[data-testid=header-basket]")).to_have_attribute("aria-label", re.compile("3"))


def test_english_switch_shows_the_storefront_in_english(demo_server, open_visit):
    visit = open_visit("desktop", "english-desktop")
    page = visit.page
    english_titles = set(Product.objects.storefront().exclude(title_en="").values_list("title_en", flat=True))
    assert english_titles, "the demo data has no English product titles"

    response = page.goto(f"{demo_server}/")
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^zh"))
    check_page(visit, "home-zh", phone=False)

    # When the buyer presses "English" in the header's language switch
    with page.expect_navigation() as navigation:
        page.locator("header form[action$='/i18n/setlang/'] button[value=en]").click()
    assert navigation.value.status == 200
    check_page(visit, "home-en", phone=False)

    # Then the home page is in English, product cards included
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav.site-nav")).to_contain_text("All produce")
    home_titles = page.locator(".product-card__title").all_inner_texts()
    assert all(title.strip() in english_titles for title in home_titles), home_titles

    # And so is the catalogue, which always lists products whatever the month
    with page.expect_navigation() as navigation:
        page.locator("nav.site-nav").get_by_role("link", name="All produce").click()
    assert navigation.value.status == 200
    check_page(visit, "catalogue-en", phone=False)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    catalogue_titles = page.locator("#content_inner .product-card__title").all_inner_texts()
    assert catalogue_titles, "the catalogue shows no products"
    assert all(title.strip() in english_titles for title in catalogue_titles), catalogue_titles

"""The association's journey, end to end in the browser: a Suichang farmer applies to open a shop, the
association approves it, the new farmer sets a password from the sign-in email and lists bamboo shoots,
the listing waits for review until the association approves it, it appears in the storefront, a buyer
orders it, and the association reviews the month's sales for Suichang county and exports them as CSV."""

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from oscar.core.loading import get_model
from PIL import Image
from playwright.sync_api import expect

from marketplace.order.models import ShopOrder
from marketplace.payments.models import Payment
from shops.association.models import ShopApplication
from tests.e2e.conftest import Visit
from tests.e2e.test_checkout_journey import add_to_basket, fill_checkout, shop_with_stripe  # noqa: F401
from tests.payments.conftest import localstripe  # noqa: F401  (the fake Stripe server fixture)

Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.e2e

ASSOCIATION_EMAIL = "association@demo.xiangwei.cn"
ASSOCIATION_PASSWORD = "demo-assoc-2026"  # fixtures/accounts.yaml: the demo's documented password
SHOP_NAME = "石练村鲜笋铺"
FARMER_EMAIL = "shilian.shoots@example.cn"
FARMER_PASSWORD = "Bamboo-Shoots-2026"
TITLE = "遂昌石练 鲜笋干 500克"


def check_page(visit: Visit, label: str) -> None:
    visit.screenshot(label)
    visit.assert_no_server_error()
    if visit.page.viewport_size["width"] <= 400:
        visit.assert_no_horizontal_scroll()


def submit(visit: Visit, locator) -> None:
    with visit.page.expect_navigation():
        locator.click()


def sign_in(visit: Visit, base: str, email: str, password: str, next_path: str) -> None:
    assert visit.page.goto(f"{base}/accounts/login/?next={next_path}").status == 200
    visit.page.fill("#id_login-username", email)
    visit.page.fill("#id_login-password", password)
    submit(visit, visit.page.locator("button[name=login_submit]"))


def photo(folder: Path, name: str, colour: tuple[int, int, int]) -> Path:
    path = folder / name
    Image.new("RGB", (640, 480), colour).save(path, "JPEG", quality=85)
    return path


def test_a_suichang_shop_is_admitted_lists_bamboo_shoots_sells_and_shows_in_the_sales_review(
    shop_with_stripe,  # noqa: F811
    open_visit,
    tmp_path,
):
    base = shop_with_stripe

    # 1. A farmer in Suichang applies to open a shop, on a phone.
    applicant = open_visit("phone", "association-applicant")
    page = applicant.page
    assert page.goto(f"{base}/").status == 200
    submit(applicant, page.locator("[data-testid=open-a-shop-link]"))
    form = page.locator("[data-testid=application-form]")
    expect(form).to_be_visible()
    form.locator("#id_shop_name").fill(SHOP_NAME)
    form.locator("#id_shop_name_en").fill("Shilian Bamboo Shoots")
    form.locator("#id_produce").fill("春笋、冬笋和自家晒的笋干")
    form.get_by_label(re.compile("笋干")).first.check()
    form.locator("#id_farmer_name").fill("郑石头")
    form.locator("#id_phone").fill("13957012345")
    form.locator("#id_email").fill(FARMER_EMAIL)
    county = form.locator("#id_county option", has_text="遂昌县").first.get_attribute("value")
    form.locator("#id_county").select_option(county)
    form.locator("#id_town_name").fill("石练镇")
    form.locator("#id_village_name").fill("石练村")
    form.locator("#id_farm_photos").set_input_files([photo(tmp_path, "farm.jpg", (90, 140, 70))])
    form.locator("#id_licence_photos").set_input_files([photo(tmp_path, "licence.jpg", (230, 230, 220))])
    check_page(applicant, "application-form")
    submit(applicant, form.locator("[data-testid=application-submit]"))
    expect(page.locator("[data-testid=application-status]")).to_be_visible()
    check_page(applicant, "application-sent")
    application = ShopApplication.objects.get(email=FARMER_EMAIL)
    assert application.status == ShopApplication.Status.SUBMITTED

    # 2. Association staff open the application and approve it.
    staff = open_visit("desktop", "association-staff")
    sign_in(staff, base, ASSOCIATION_EMAIL, ASSOCIATION_PASSWORD, "/association/applications/")
    row = staff.page.locator("[data-testid=application-row]", has_text=SHOP_NAME)
    expect(row).to_have_count(1)
    check_page(staff, "applications")
    submit(staff, row.locator("[data-testid=application-link]"))
    check_page(staff, "application")
    submit(staff, staff.page.locator("[data-testid=approve]"))
    shop = Partner.objects.get(name=SHOP_NAME)
    assert shop.status == Partner.Status.APPROVED
    assert shop.county.name == "遂昌县"
    assert shop.listing_review_required

    # 3. The new farmer follows the sign-in email, sets a password and signs in to the console.
    links = [
        re.search(r"https?://\S+/password-reset/confirm/\S+", m.body)
        for m in mail.outbox
        if m.to == [FARMER_EMAIL] and SHOP_NAME in m.subject
    ]
    link = next(found.group(0) for found in links if found)
    farmer = open_visit("phone", "association-new-farmer")
    page = farmer.page
    assert page.goto(f"{base}{urlsplit(link).path}").status == 200
    page.fill("#id_new_password1", FARMER_PASSWORD)
    page.fill("#id_new_password2", FARMER_PASSWORD)
    check_page(farmer, "set-password")
    submit(farmer, page.locator("form button[type=submit]").last)
    sign_in(farmer, base, FARMER_EMAIL, FARMER_PASSWORD, "/shop/")
    page.wait_for_url(f"{base}/shop/")
    check_page(farmer, "console")

    # 4. The farmer lists dried bamboo shoots with a photo: the listing waits for the association.
    submit(farmer, page.locator("[data-testid=new-listing]").first)
    form = page.locator("[data-testid=listing-form]")
    form.locator("#id_title").fill(TITLE)
    form.locator("#id_title_en").fill("Suichang dried bamboo shoots from Shilian, 500 g")
    category = form.locator("#id_category option", has_text="笋干").first.get_attribute("value")
    form.locator("#id_category").select_option(category)
    form.locator("#id_product_class").select_option(index=1)
    form.locator("#id_price").fill("68.00")
    form.locator("#id_stock").fill("30")
    form.locator("#id_net_weight_g").fill("500")
    form.locator("#id_shelf_life_days").fill("180")
    form.locator("#id_storage").select_option(Product.Storage.AMBIENT)
    submit(farmer, form.locator("[data-testid=save-listing]"))
    product = Product.objects.get(shop=shop, title=TITLE)
    assert product.listing_status == Product.ListingStatus.AWAITING_REVIEW
    with page.expect_navigation():
        page.locator("[data-testid=photo-input]").set_input_files(
            [photo(tmp_path, "shoots.jpg", (200, 180, 120))]
        )
    expect(page.locator("img[data-testid=photo-thumb]")).to_have_count(1)
    check_page(farmer, "listing-photo")
    assert page.goto(f"{base}/shop/listings/").status == 200
    expect(page.locator("[data-testid=awaiting-review]").first).to_be_visible()
    check_page(farmer, "listing-awaiting-review")
    # Not in the storefront yet.
    buyer = open_visit("phone", "association-buyer")
    assert buyer.page.goto(f"{base}{product.get_absolute_url()}").status == 404

    # 5. The association approves it from the review queue; it appears in the storefront.
    assert staff.page.goto(f"{base}/association/listings/").status == 200
    queue_row = staff.page.locator(f"[data-testid=queue-row][data-product='{product.pk}']")
    expect(queue_row).to_have_count(1)
    check_page(staff, "listing-queue")
    submit(staff, queue_row.locator("[data-testid=queue-open]"))
    check_page(staff, "listing-review")
    submit(staff, staff.page.locator("[data-testid=approve-listing]"))
    product.refresh_from_db()
    assert product.listing_status == Product.ListingStatus.LIVE
    assert buyer.page.goto(f"{base}{product.get_absolute_url()}").status == 200
    expect(buyer.page.locator("h1")).to_contain_text(TITLE)
    assert buyer.page.goto(f"{base}{shop.get_absolute_url()}").status == 200
    expect(buyer.page.get_by_text(TITLE).first).to_be_visible()
    check_page(buyer, "listing-in-storefront")

    # 6. A buyer orders two bags and pays by card.
    add_to_basket(buyer, base, product)
    add_to_basket(buyer, base, product)
    assert buyer.page.goto(f"{base}/checkout/").status == 200
    fill_checkout(buyer, "4242424242424242")
    with buyer.page.expect_navigation(timeout=30_000):
        buyer.page.locator("[data-testid=place-order]").click()
    assert "/thank-you/" in buyer.page.url
    shop_order = ShopOrder.objects.get(shop=shop)
    assert shop_order.status == ShopOrder.Status.PAID
    assert Payment.objects.get(order=shop_order.order).status == Payment.Status.SUCCEEDED
    gross = shop_order.lines_total + shop_order.shipping_charge

    # 7. The association reviews this month's sales in Suichang county, by shop, and exports them.
    sales_review(staff, base, shop=shop, gross=gross, units=2)


def sales_review(staff: Visit, base: str, *, shop, gross: Decimal, units: int) -> None:
    page = staff.page
    assert page.goto(f"{base}/association/sales/").status == 200
    filters = page.locator("[data-testid=sales-filters]")
    filters.locator("[data-testid=period-kind]").select_option("month")
    filters.locator("[data-testid=period-on]").fill(timezone.localdate().isoformat())
    suichang = filters.locator("[data-testid=filter-county] option", has_text="遂昌县").first.get_attribute(
        "value"
    )
    filters.locator("[data-testid=filter-county]").select_option(suichang)
    filters.locator("[data-testid=dimension]").select_option("shop")
    submit(staff, filters.locator("[data-testid=apply-filters]"))
    expect(page.locator("[data-testid=period-label]")).to_have_text(timezone.localdate().strftime("%Y-%m"))

    # The new shop has a row of its own, with this sale's figures (it has no refunds: net = gross).
    row = page.locator("[data-testid=sales-row]", has_text=SHOP_NAME)
    expect(row).to_have_count(1)
    expect(row.locator("[data-testid=sales-row-net]")).to_have_text(f"¥{gross:,.2f}")
    # Only Suichang's shops are in the table.
    labels = page.locator("[data-testid=sales-row-label]").all_inner_texts()
    suichang_shops = {s.display_name for s in Partner.objects.filter(county__name="遂昌县")}
    assert labels
    assert set(labels) <= suichang_shops, labels
    expect(page.locator("[data-testid=total-orders-value]")).not_to_have_text("0")

    # The chart is drawn by the server as SVG.
    chart = page.locator("[data-testid=sales-chart] img")
    expect(chart).to_be_visible()
    chart_response = page.request.get(f"{base}{chart.get_attribute('src')}")
    assert chart_response.status == 200
    assert chart_response.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in chart_response.text()
    check_page(staff, "sales-review")

    # The CSV export holds the same row.
    with page.expect_download() as download_info:
        page.locator("[data-testid=export-csv]").click()
    text = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    rows = {line[0]: line for line in csv.reader(io.StringIO(text))}
    shop_row = rows[shop.display_name]
    orders, exported_units, exported_gross = int(shop_row[1]), int(shop_row[2]), Decimal(shop_row[3])
    assert (orders, exported_units, exported_gross) == (1, units, gross)

    # On a phone too, the review fits the screen (the table scrolls in its card).
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    check_page(staff, "sales-review-phone")


def sized_file(folder: Path, name: str, size: int) -> Path:
    """A file of exactly ``size`` bytes (the page looks only at sizes; it never reaches the server)."""
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def test_photos_too_large_for_one_post_are_refused_on_the_page_before_sending(
    demo_server, open_visit, settings, tmp_path
):
    """The page checks the chosen photos against what the server takes in one post, so an applicant is
    told at once, with what they typed still there, instead of a 413 after a long upload."""
    settings.REQUEST_BODY_LIMITS = {**settings.REQUEST_BODY_LIMITS, "admission:apply": 200 * 1024}
    applications = ShopApplication.objects.count()  # the demo's
    applicant = open_visit("phone", "application-too-large")
    page = applicant.page
    assert page.goto(f"{demo_server}/open-a-shop/").status == 200
    form = page.locator("[data-testid=application-form]")
    form.locator("#id_shop_name").fill(SHOP_NAME)
    form.locator("#id_farm_photos").set_input_files([sized_file(tmp_path, "farm.jpg", 150 * 1024)])
    expect(form.locator("[data-testid=photos-too-large]")).to_be_hidden()  # 150 KB fits
    form.locator("#id_licence_photos").set_input_files([sized_file(tmp_path, "licence.jpg", 150 * 1024)])

    alert = form.locator("[data-testid=photos-too-large]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("200.0")
    posts = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    form.locator("[data-testid=application-submit]").click()
    page.wait_for_timeout(300)

    assert posts == []
    expect(form.locator("#id_shop_name")).to_have_value(SHOP_NAME)
    check_page(applicant, "application-too-large")
    assert ShopApplication.objects.count() == applications

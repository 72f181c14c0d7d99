"""A Yangshan peach farmer's day in the shop console, on a phone: sign in, list a pre-sale of peaches,
upload two photos, change the price, then take a buyer's paid order through accept → pack → packing
slip → hand-over."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from oscar.core.loading import get_model
from PIL import Image
from playwright.sync_api import expect

from marketplace.order.models import ShopOrder
from marketplace.payments.models import Payment
from tests.e2e.conftest import Visit
from tests.e2e.test_checkout_journey import add_to_basket, fill_checkout, shop_with_stripe  # noqa: F401
from tests.payments.conftest import localstripe  # noqa: F401  (the fake Stripe server fixture)

Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.e2e

SHOP_CODE = "yangshan-chen-orchard"
FARMER_EMAIL = f"farmer.{SHOP_CODE}@demo.xiangwei.cn"
FARMER_PASSWORD = "demo-farmer-2026"  # fixtures/accounts.yaml: the demo's documented farmer password
TITLE = "阳山水蜜桃 湖景蜜露 8只礼盒（预售）"
EXIF_ORIENTATION = 0x0112


def check_page(visit: Visit, label: str) -> None:
    """Screenshot first (a failure leaves a picture), then: no 5xx so far, no sideways scroll at 390 px."""
    visit.screenshot(label)
    visit.assert_no_server_error()
    visit.assert_no_horizontal_scroll()


def submit(visit: Visit, locator) -> None:
    """Click a button or link that loads a new page, and wait for that page."""
    with visit.page.expect_navigation():
        locator.click()


def peach_photos(folder: Path) -> list[Path]:
    """Two phone-like JPEGs: a landscape one, and one stored sideways with EXIF orientation 6 ("rotate
    90° clockwise to view"), as phones save portrait shots."""
    landscape = folder / "peaches-landscape.jpg"
    Image.new("RGB", (640, 480), (232, 128, 140)).save(landscape, "JPEG", quality=90)
    sideways = folder / "peaches-sideways.jpg"
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    Image.new("RGB", (640, 480), (120, 170, 80)).save(sideways, "JPEG", quality=90, exif=exif)
    return [landscape, sideways]


def test_a_farmer_lists_a_presale_adds_photos_and_ships_a_paid_order(
    shop_with_stripe,  # noqa: F811  (imported from the checkout journey above)
    open_visit,
    tmp_path,
):
    base = shop_with_stripe
    shop = Partner.objects.get(code=SHOP_CODE)
    visit = open_visit("phone", "farmer")
    page = visit.page

    # 1. The farmer signs in and lands on the console's home page.
    assert page.goto(f"{base}/accounts/login/").status == 200
    page.fill("#id_login-username", FARMER_EMAIL)
    page.fill("#id_login-password", FARMER_PASSWORD)
    page.locator("button[name=login_submit]").click()
    page.wait_for_url(f"{base}/shop/")
    expect(page.locator("[data-testid=shop-name]")).to_have_text(shop.display_name)
    check_page(visit, "home")

    # 2. A pre-sale listing of peaches from next summer's harvest.
    submit(visit, page.locator("[data-testid=new-listing]").first)
    assert page.url == f"{base}/shop/listings/new/"
    form = page.locator("[data-testid=listing-form]")
    expect(form).to_be_visible()
    check_page(visit, "new-listing")
    ship_from = datetime.date(timezone.localdate().year + 1, 7, 10)
    form.locator("#id_title").fill(TITLE)
    form.locator("#id_title_en").fill("Yangshan honey peaches, Hujing Milu, 8-peach box (pre-sale)")
    peach_category = form.locator("#id_category option", has_text="水蜜桃").first.get_attribute("value")
    form.locator("#id_category").select_option(peach_category)
    form.locator("#id_product_class").select_option(label="鲜果")
    form.locator("#id_variety").fill("湖景蜜露")
    form.locator("#id_price").fill("168.00")
    form.locator("#id_stock").fill("40")  # the pre-sale quota
    form.locator("#id_pack_size").fill("8只装")
    form.locator("#id_harvest_start_month").select_option("7")
    form.locator("#id_harvest_end_month").select_option("8")
    form.locator("#id_storage").select_option(Product.Storage.CHILLED)
    form.locator("#id_perishable").check()
    form.locator("#id_presale").check()
    form.locator("#id_presale_ship_from").fill(ship_from.isoformat())
    submit(visit, form.locator("[data-testid=save-listing]"))

    # It is on sale at once (this shop's listings are not reviewed), and the photos page comes next.
    product = Product.objects.get(shop=shop, title=TITLE)
    assert page.url == f"{base}/shop/listings/{product.pk}/photos/"
    expect(page.locator("[data-testid=messages]")).to_be_visible()
    check_page(visit, "listing-saved")
    assert product.listing_status == Product.ListingStatus.LIVE
    assert product.presale_ship_from == ship_from
    assert product.is_presale()
    assert product.perishable
    assert product.storage == Product.Storage.CHILLED
    assert (product.harvest_start_month, product.harvest_end_month) == (7, 8)
    assert [c.name for c in product.categories.all()] == ["水蜜桃"]
    assert product.product_class.name == "鲜果"
    record = StockRecord.objects.get(product=product)
    assert (record.partner_id, record.price, record.num_in_stock) == (shop.pk, Decimal("168.00"), 40)

    # 3. Two photos from the phone: the progress bar shows, the page reloads with both thumbnails.
    progress = page.locator("[data-testid=upload-progress]")
    expect(progress).to_be_hidden()
    # The page reloads itself once the upload is in.
    with page.expect_navigation(), page.expect_response(re.compile(r"/photos/upload/$")) as upload:
        page.locator("[data-testid=photo-input]").set_input_files(peach_photos(tmp_path))
        expect(progress).to_be_visible()
    assert upload.value.status == 200  # (its JSON body is gone with the reload; the rows are checked below)
    thumbs = page.locator("img[data-testid=photo-thumb]")
    expect(thumbs).to_have_count(2)
    check_page(visit, "photos")
    # The live server does not serve media, so check what the thumbnails point at, not their pixels.
    sources = [thumbs.nth(i).get_attribute("src") for i in range(2)]
    assert all(src and src.startswith(settings.MEDIA_URL) for src in sources), sources
    assert len(set(sources)) == 2
    photos = list(product.images.order_by("display_order"))
    assert [p.display_order for p in photos] == [0, 1]
    assert all(p.renditions_ready for p in photos)
    originals = []
    for photo in photos:
        with Image.open(photo.original.path) as original:
            originals.append(original.size)
            assert EXIF_ORIENTATION not in original.getexif()  # upright, and the EXIF is gone
    assert sorted(originals) == [(480, 640), (640, 480)]

    # 4. A new price from the listings page's quick edit.
    submit(visit, page.locator("a[href$='/shop/listings/']").first)
    listing = page.locator(f"[data-testid=listing][data-product='{product.pk}']")
    expect(listing).to_be_visible()
    check_page(visit, "listings")
    quick = listing.locator("form.c-quick")
    quick.locator("input[name=price]").fill("158.00")
    submit(visit, quick.locator("button[type=submit]"))
    expect(page.locator("[data-testid=messages]")).to_contain_text("158.00")
    listing = page.locator(f"[data-testid=listing][data-product='{product.pk}']")
    expect(listing.locator("input[name=price]")).to_have_value("158.00")
    expect(listing.locator("input[name=stock]")).to_have_value("40")
    check_page(visit, "price-changed")
    assert StockRecord.objects.get(pk=record.pk).price == Decimal("158.00")

    # 5. A buyer, on another phone, pays for a box of the pre-sale with a card.
    buyer = open_visit("phone", "farmer-buyer")
    add_to_basket(buyer, base, product)
    assert buyer.page.goto(f"{base}/checkout/").status == 200
    fill_checkout(buyer, "4242424242424242")
    with buyer.page.expect_navigation(timeout=30_000):
        buyer.page.locator("[data-testid=place-order]").click()
    buyer.screenshot("thank-you")
    buyer.assert_no_server_error()
    assert "/thank-you/" in buyer.page.url
    shop_order = ShopOrder.objects.get(shop=shop, order__lines__product=product)
    assert shop_order.status == ShopOrder.Status.PAID
    assert Payment.objects.get(order=shop_order.order).status == Payment.Status.SUCCEEDED
    assert shop_order.ships_on == ship_from
    number = shop_order.number

    # 6. The farmer finds it among the new orders and takes it through to the logistics partner.
    assert page.goto(f"{base}/shop/orders/").status == 200
    expect(page.locator("[data-testid=tab-new]")).to_have_attribute("aria-current", "true")
    card = page.locator(f"[data-testid=shop-order][data-number='{number}']")
    expect(card).to_contain_text(TITLE)
    check_page(visit, "orders-new")
    submit(visit, card.locator("a"))
    assert page.url == f"{base}/shop/orders/{number}/"
    check_page(visit, "order")

    submit(visit, page.locator("[data-testid=accept]"))
    expect(page.locator("[data-testid=messages]")).to_contain_text(number)
    check_page(visit, "accepted")
    assert ShopOrder.objects.get(pk=shop_order.pk).status == ShopOrder.Status.ACCEPTED

    page.fill("#id_parcel_count", "1")
    page.fill("#id_parcel_weight_kg", "3.2")
    submit(visit, page.locator("[data-testid=pack]"))
    expect(page.locator("[data-testid=messages]")).to_contain_text(number)
    check_page(visit, "packed")
    shop_order.refresh_from_db()
    assert (shop_order.status, shop_order.parcel_count, shop_order.parcel_weight_g) == (
        ShopOrder.Status.PACKED,
        1,
        3200,
    )

    # The packing slip opens in a new tab: the order number, in words and as a QR code.
    with page.context.expect_page() as popup:
        page.locator("[data-testid=packing-slip]").click()
    slip = Visit(page=popup.value, name="farmer-slip")
    slip.page.wait_for_load_state()
    assert slip.page.url == f"{base}/shop/orders/{number}/slip/"
    expect(slip.page.locator("[data-testid=slip-number]")).to_have_text(number)
    expect(slip.page.locator("[data-testid=slip-qr] svg")).to_have_count(1)
    check_page(slip, "packing-slip")
    slip.page.close()

    submit(visit, page.locator("[data-testid=hand-over]"))
    expect(page.locator("[data-testid=order-status]")).to_be_visible()
    check_page(visit, "handed-over")
    assert ShopOrder.objects.get(pk=shop_order.pk).status == ShopOrder.Status.HANDED_OVER
    expect(page.locator("[data-testid=hand-over]")).to_have_count(0)
    expect(page.locator("[data-testid=accept]")).to_have_count(0)
    expect(page.locator("[data-testid=pack]")).to_have_count(0)

    # And it has moved from the "new" tab to "handed over".
    assert page.goto(f"{base}/shop/orders/?tab=handed_over").status == 200
    expect(page.locator(f"[data-testid=shop-order][data-number='{number}']")).to_be_visible()
    check_page(visit, "orders-handed-over")
    assert page.goto(f"{base}/shop/orders/").status == 200
    expect(page.locator(f"[data-testid=shop-order][data-number='{number}']")).to_have_count(0)
    check_page(visit, "orders-new-after")

    # 7. The console's other pages fit the phone too.
    for path, label in (("/shop/orders/picking/", "picking"), ("/shop/sales/", "sales")):
        assert page.goto(f"{base}{path}").status == 200
        check_page(visit, label)

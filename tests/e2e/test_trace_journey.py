"""From the orchard to the buyer's phone (issue 16, points 1 and 4), at 390 px: a Yangshan farmer records
a harvest batch with a photo, a buyer pays for a box of it, the farmer prints the packing slip, and
whoever scans the slip's QR code sees where and when the peaches were picked, with nothing about the
buyer."""

import datetime
import re

import pytest
import segno
from django.utils import timezone, translation
from django.utils.formats import date_format
from oscar.core.loading import get_model
from PIL import Image
from playwright.sync_api import expect

from marketplace.order.models import ShopOrder
from shops.harvest.models import HarvestBatch, LineDraw
from shops.orchard.models import Plot
from tests.e2e.conftest import Visit
from tests.e2e.test_checkout_journey import add_to_basket, fill_checkout, shop_with_stripe  # noqa: F401
from tests.e2e.test_farmer_journey import FARMER_EMAIL, FARMER_PASSWORD, SHOP_CODE, check_page, submit
from tests.payments.conftest import localstripe  # noqa: F401  (the fake Stripe server fixture)

Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.e2e

LISTING_UPC = "YS-CJ-BF-12"  # fixtures/products.yaml: the Chens' old-tree Baifeng, 2.9 kg a box
# What fill_checkout types as the buyer's: none of it may reach the public trace page.
BUYER_DETAILS = ("王小明", "13800138000", "世纪大道", "buyer@example.cn", "浦东新区")


def test_a_batch_recorded_in_the_orchard_is_on_the_trace_page_behind_the_slips_qr(
    shop_with_stripe,  # noqa: F811  (imported from the checkout journey above)
    open_visit,
    tmp_path,
):
    base = shop_with_stripe
    shop = Partner.objects.get(code=SHOP_CODE)
    listing = Product.objects.get(upc=LISTING_UPC, shop=shop)
    plot = Plot.objects.get(shop=shop)
    # Picked the day before the demo's batch, so the buyer's box draws from this one (first picked first).
    picked_on = timezone.localdate() - datetime.timedelta(days=2)
    photo = tmp_path / "baifeng.jpg"
    Image.new("RGB", (320, 240), (236, 150, 150)).save(photo, "JPEG", quality=85)

    # 1. The farmer signs in on a phone and opens the Orchard tab.
    visit = open_visit("phone", "trace-journey")
    page = visit.page
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login-username", FARMER_EMAIL)
    page.fill("#id_login-password", FARMER_PASSWORD)
    with page.expect_navigation():
        page.locator("button[name=login_submit]").click()
    assert page.url == f"{base}/shop/"
    submit(visit, page.locator("[data-testid=workspace-nav] a[href$='/shop/orchard/']"))
    expect(page.locator("[data-testid=plot-list]")).to_contain_text(plot.name)
    check_page(visit, "orchard")

    # 2. A batch of the old-tree Baifeng from the Chens' plot, with a photo.
    assert page.goto(f"{base}/shop/harvest/new/").status == 200
    form = page.locator("[data-testid=batch-form]")
    form.locator(f"input[name=products][value='{listing.pk}']").check()
    form.locator("#id_plot").select_option(str(plot.pk))
    form.locator("#id_picked_on").fill(picked_on.isoformat())
    form.locator("#id_quantity_kg").fill("120")
    form.locator("#id_grade").select_option(HarvestBatch.Grade.PREMIUM)
    form.locator("#id_brix").fill("15.2")
    form.locator("#id_note").fill("老树白凤，清晨采摘")
    form.locator("#id_photos").set_input_files(photo)
    check_page(visit, "batch-form")
    submit(visit, form.locator("button[type=submit]"))

    batch = HarvestBatch.objects.get(shop=shop, picked_on=picked_on)
    assert page.url == f"{base}/shop/harvest/"
    expect(page.locator("[data-testid=messages]")).to_contain_text(batch.number)
    row = page.locator("[data-testid=batch]", has_text=batch.number)
    expect(row).to_contain_text(listing.title)
    expect(row).to_contain_text(plot.name)
    expect(row.locator("[data-testid=batch-left]")).to_contain_text("120")
    check_page(visit, "batches")
    assert (batch.plot, batch.quantity_g, batch.drawn_g) == (plot, 120_000, 0)
    assert list(batch.products.all()) == [listing]
    assert batch.photos.count() == 1

    # 3. A buyer, on another phone, pays for a box with the test card.
    buyer = open_visit("phone", "trace-journey-buyer")
    add_to_basket(buyer, base, listing)
    assert buyer.page.goto(f"{base}/checkout/").status == 200
    fill_checkout(buyer, "4242424242424242")
    with buyer.page.expect_navigation(timeout=30_000):
        buyer.page.locator("[data-testid=place-order]").click()
    buyer.screenshot("thank-you")
    buyer.assert_no_server_error()
    assert "/thank-you/" in buyer.page.url
    shop_order = ShopOrder.objects.get(shop=shop, order__lines__product=listing)
    assert shop_order.status == ShopOrder.Status.PAID
    # The box's 2.9 kg came out of the farmer's batch.
    assert list(LineDraw.objects.filter(line__order=shop_order.order).values_list("batch", "grams")) == [
        (batch.pk, listing.net_weight_g)
    ]

    # 4. The farmer opens the order's packing slip; its QR code holds the parcel's trace page.
    assert page.goto(f"{base}/shop/orders/{shop_order.number}/").status == 200
    with page.context.expect_page() as popup:
        page.locator("[data-testid=packing-slip]").click()
    slip = Visit(page=popup.value, name="trace-journey-slip")
    slip.page.wait_for_load_state()
    qr = slip.page.locator("[data-testid=slip-qr]")
    trace_url = qr.get_attribute("data-trace-url")
    assert trace_url == f"{base}/t/{shop_order.trace.code}/"
    # No QR decoder is installed; a QR code is a function of its text, so the slip's SVG must be the one
    # segno draws for that URL (as the view asks for it): the same modules, that is the same path.
    expected_svg = segno.make(trace_url, error="m").svg_inline(scale=3, dark="#000", border=2)
    [expected_path] = re.findall(r'<path[^>]* d="([^"]+)"', expected_svg)
    expect(qr.locator("svg path")).to_have_attribute("d", expected_path)
    check_page(slip, "packing-slip")
    slip.page.close()

    # 5. Anyone who scans it (a fresh phone: no cookies, not signed in) sees the batch, not the buyer.
    scanner = open_visit("phone", "trace-journey-scan")
    assert scanner.page.context.cookies() == []
    assert scanner.page.goto(trace_url).status == 200
    trace = scanner.page.locator("[data-testid=trace]")
    expect(trace).to_be_visible()
    check_page(scanner, "trace")
    traced = trace.locator("[data-testid=trace-line]", has_text=listing.title)
    expect(traced).to_have_count(1)
    traced_batch = traced.locator("[data-testid=trace-batch]")
    expect(traced_batch).to_have_count(1)
    with translation.override("zh-hans"):
        picking_day = date_format(picked_on, "MONTH_DAY_FORMAT")
    expect(traced_batch.locator("h3")).to_contain_text(picking_day)
    expect(traced_batch.locator("h3")).to_contain_text(batch.number)
    expect(traced_batch.locator("[data-testid=trace-plot]")).to_contain_text(plot.name)
    expect(traced_batch.locator("[data-testid=trace-brix]")).to_contain_text("15.2")
    expect(traced_batch.locator("img")).to_have_count(1)
    text = scanner.page.locator("body").inner_text()
    html = scanner.page.content()
    for detail in BUYER_DETAILS:
        assert detail not in text, f"the trace page shows the buyer's {detail!r}"
        assert detail not in html, f"the trace page's HTML holds the buyer's {detail!r}"
    assert shop_order.number not in html

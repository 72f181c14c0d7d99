"""The farmer console's pages: access, listings, photos, shop orders, picking list and sales."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory
from PIL import Image

from logistics.models import LogisticsPartner
from marketplace.order.models import ShopOrder, ShopOrderEvent
from marketplace.payments.models import Refund
from shops.association.models import ListingReviewEvent
from shops.services import farmer_attach
from tests.factories import ProductFactory, ShopFactory, association_member, category
from tests.form_pages import page_kept
from tests.shops.console.conftest import order_paid

Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
ProductImage = get_model("catalogue", "ProductImage")
StockRecord = get_model("partner", "StockRecord")
S = ShopOrder.Status

pytestmark = pytest.mark.django_db


def jpeg_bytes(size=(64, 48), colour=(200, 80, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def stock_of(product) -> StockRecord:
    return StockRecord.objects.get(product=product)


# --- access ---------------------------------------------------------------------------------------


def test_signing_in_lands_a_farmer_on_the_console_and_a_buyer_on_the_account(shop_a):
    shop_a.farmer.set_password("peach-2026")
    shop_a.farmer.save()
    client = Client()
    response = client.post(
        reverse("customer:login"),
        {"login-username": shop_a.farmer.email, "login-password": "peach-2026", "login_submit": "1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("console:home")
    assert response.context["shop"] == shop_a.shop

    buyer = UserFactory()
    client = Client()
    client.force_login(buyer)
    assert client.get(reverse("console:landing")).url == reverse("customer:summary")


def test_signing_in_lands_the_associations_staff_and_a_partners_people_on_their_workspaces():
    """They landed on a buyer's profile page (found walking the portal and the association's workspace)."""
    partner = LogisticsPartner.objects.create(
        code="sp-test", name="桃源村赶街服务站", kind=LogisticsPartner.Kind.SERVICE_POINT
    )
    partner_person = UserFactory()
    partner.users.add(partner_person)
    for user, home in [
        (association_member(), reverse("association:home")),
        (partner_person, reverse("logistics_portal:home")),
    ]:
        client = Client()
        client.force_login(user)
        assert client.get(reverse("console:landing")).url == home
        assert client.get(home).status_code == 200


def test_someone_of_no_shop_gets_a_page_saying_so(client):
    client.force_login(UserFactory())
    response = client.get(reverse("console:listings"))
    assert response.status_code == 403
    assert "workspace/forbidden.html" in [t.name for t in response.templates]
    assert 'data-testid="no-shop"' in response.content.decode()


def test_the_listings_add_button_says_it_adds_a_listing(shop_a):
    """It read "+ 新订单" (new order): its text was the order tab's "New"."""
    page = shop_a.client.get(reverse("console:listings")).content.decode()
    button = page[page.index('data-testid="new-listing"') :].split("</a>", 1)[0]
    assert "发布商品" in button
    assert "订单" not in button


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("console:orders"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("customer:login"))


def test_a_farmer_of_two_shops_switches_between_them(shop_a, shop_b):
    farmer_attach(shop=shop_b.shop, user=shop_a.farmer)
    client = shop_a.client
    first = client.get(reverse("console:listings"))
    first_shop = first.context["shop"]
    other = shop_b.shop if first_shop == shop_a.shop else shop_a.shop

    response = client.post(reverse("console:switch"), {"shop": other.pk}, follow=True)

    assert response.context["shop"] == other
    listings = client.get(reverse("console:listings"))
    assert [row["product"].shop for row in listings.context["rows"]] == [other]


# --- listings -------------------------------------------------------------------------------------


def peach_category():
    Category = get_model("catalogue", "Category")
    existing = Category.objects.filter(name="水蜜桃").first()
    return existing or category("水蜜桃", "Honey peaches", parent=category("鲜果", "Fresh fruit"))


def listing_post(**overrides) -> dict:
    fruit = peach_category()
    kind = ProductClass.objects.get_or_create(slug="fresh-fruit", defaults={"name": "鲜果"})[0]
    data = {
        "title": "阳山水蜜桃 预售 8只装",
        "title_en": "Yangshan honey peaches, pre-sale, 8",
        "category": fruit.pk,
        "product_class": kind.pk,
        "variety": "湖景蜜露",
        "price": "198.00",
        "pack_size": "8只装",
        "net_weight_g": "3000",
        "stock": "30",
        "harvest_start_month": "7",
        "harvest_end_month": "8",
        "storage": "chilled",
        "perishable": "on",
        "presale": "on",
        "presale_ship_from": (timezone.localdate() + timedelta(days=200)).isoformat(),
        "description": "七月开摘，冷链直发。",
    }
    data.update(overrides)
    return data


def test_a_farmer_creates_a_presale_listing_that_goes_on_sale_with_its_quota(shop_a):
    response = shop_a.client.post(reverse("console:listing-create"), listing_post(), follow=True)

    product = Product.objects.get(title="阳山水蜜桃 预售 8只装")
    assert product.shop == shop_a.shop
    assert product.listing_status == Product.ListingStatus.LIVE
    assert product.is_public
    assert product.is_presale()
    assert product.categories.get().name == "水蜜桃"
    assert (stock_of(product).price, stock_of(product).num_in_stock) == (Decimal("198.00"), 30)
    assert response.redirect_chain[-1][0] == reverse("console:listing-photos", kwargs={"pk": product.pk})
    assert any("阳山水蜜桃 预售 8只装" in m for m in messages_of(response))
    assert Product.objects.storefront().filter(pk=product.pk).exists()


def test_a_listing_of_a_shop_under_review_waits_and_is_not_public(shop_a):
    shop_a.shop.listing_review_required = True
    shop_a.shop.save(update_fields=["listing_review_required"])

    shop_a.client.post(reverse("console:listing-create"), listing_post(presale="", presale_ship_from=""))

    product = Product.objects.get(title="阳山水蜜桃 预售 8只装")
    assert product.listing_status == Product.ListingStatus.AWAITING_REVIEW
    assert not Product.objects.storefront().filter(pk=product.pk).exists()
    page = shop_a.client.get(reverse("console:listings"))
    assert b'data-testid="awaiting-review"' in page.content
    assert shop_a.client.get(product.get_absolute_url()).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"stock": "1000000000"}, "stock"),
        ({"title": "   "}, "title"),
        ({"presale_ship_from": ""}, "presale_ship_from"),
        ({"presale_ship_from": "2020-01-01"}, "presale_ship_from"),
        ({"harvest_end_month": ""}, "harvest_end_month"),
        ({"category": "999999"}, "category"),
    ],
)
def test_a_bad_listing_form_names_the_field_and_saves_nothing(shop_a, overrides, field):
    response = shop_a.client.post(reverse("console:listing-create"), listing_post(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Product.objects.filter(shop=shop_a.shop).count() == 1  # only the fixture's listing


def test_editing_a_listing_keeps_boxes_held_by_orders(shop_a, paid_order):
    product = shop_a.product
    assert stock_of(product).num_allocated == 2
    form = shop_a.client.get(reverse("console:listing-edit", kwargs={"pk": product.pk})).context["form"]
    assert form.initial["stock"] == 18  # what is left to sell, not Oscar's num_in_stock

    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(price="188.00", stock="5", category=peach_category().pk, title="阳山水蜜桃 6只装 特级")
    data["certifications"] = []
    response = shop_a.client.post(reverse("console:listing-edit", kwargs={"pk": product.pk}), data)

    assert response.status_code == 302, response.context["form"].errors
    record = stock_of(product)
    assert (record.price, record.num_in_stock, record.num_allocated) == (Decimal("188.00"), 7, 2)
    product.refresh_from_db()
    assert product.title == "阳山水蜜桃 6只装 特级"


def test_quick_edit_sets_price_and_boxes_left_and_says_so(shop_a):
    url = reverse("console:listing-quick", kwargs={"pk": shop_a.product.pk})
    response = shop_a.client.post(url, {"price": "158.00", "stock": "3"}, follow=True)
    record = stock_of(shop_a.product)
    assert (record.price, record.num_in_stock) == (Decimal("158.00"), 3)
    assert any("158.00" in m for m in messages_of(response))
    page = shop_a.client.get(reverse("console:listings"))
    assert b'data-testid="low-stock"' in page.content

    response = shop_a.client.post(url, {"price": "0", "stock": "-4"})
    assert response.status_code == 400  # the listings page again, the row with what was typed and why
    assert stock_of(shop_a.product).price == Decimal("158.00")
    assert set(response.context["quick_form"].errors) == {"price", "stock"}


def test_a_quick_edit_refused_keeps_the_typed_values_on_its_row(shop_a):
    other = ProductFactory(title="阳山水蜜桃 12只装", shop=shop_a.shop, stock=(Decimal("268.00"), 10))
    before = stock_of(shop_a.product)

    response = shop_a.client.post(
        reverse("console:listing-quick", kwargs={"pk": shop_a.product.pk}),
        {"price": "99999999", "stock": "37"},
    )

    html = page_kept(response, form="quick_form", typed=["99999999"])
    assert response.context["quick_product_id"] == shop_a.product.pk
    assert "price" in response.context["quick_form"].errors
    row = html[html.index(f'id="listing-{shop_a.product.pk}"') :]
    assert 'value="99999999"' in row[: row.index("</article>")]
    assert 'value="37"' in row[: row.index("</article>")]
    other_row = html[html.index(f'id="listing-{other.pk}"') :]
    assert 'value="268.00"' in other_row[: other_row.index("</article>")]  # the other row as it is
    after = stock_of(shop_a.product)
    assert (after.price, after.num_in_stock) == (before.price, before.num_in_stock)


def test_pausing_hides_a_listing_and_resuming_shows_it(shop_a):
    product = shop_a.product
    shop_a.client.post(reverse("console:listing-pause", kwargs={"pk": product.pk}))
    assert not Product.objects.storefront().filter(pk=product.pk).exists()
    shop_a.client.post(reverse("console:listing-resume", kwargs={"pk": product.pk}))
    assert Product.objects.storefront().filter(pk=product.pk).exists()
    # Each move is an event of the listing's history, with the farmer who made it.
    moves = list(
        ListingReviewEvent.objects.filter(product=product)
        .order_by("pk")
        .values_list("from_status", "to_status", "actor")
    )
    assert moves[-2:] == [("live", "paused", shop_a.farmer.pk), ("paused", "live", shop_a.farmer.pk)]


def test_the_listings_page_query_count_does_not_grow_with_products(shop_a, django_assert_max_num_queries):
    url = reverse("console:listings")
    shop_a.client.get(url)  # warm the session and caches
    with django_assert_max_num_queries(12) as one:
        shop_a.client.get(url)
    for n in range(15):
        ProductFactory(shop=shop_a.shop, stock=(Decimal("10.00"), n))
    with django_assert_max_num_queries(len(one.captured_queries)) as many:
        response = shop_a.client.get(url)
    assert len(response.context["rows"]) == 16
    assert len(many.captured_queries) == len(one.captured_queries)


# --- photos ---------------------------------------------------------------------------------------


def test_uploading_photos_returns_json_and_thumbnails_become_ready(
    shop_a, django_capture_on_commit_callbacks
):
    url = reverse("console:photo-upload", kwargs={"pk": shop_a.product.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = shop_a.client.post(
            url,
            {
                "photos": [
                    SimpleUploadedFile("a.jpg", jpeg_bytes()),
                    SimpleUploadedFile("notes.jpg", b"not a photo"),
                ]
            },
            headers={"accept": "application/json"},
        )
    assert response.status_code == 200
    body = response.json()
    assert (len(body["saved"]), len(body["errors"])) == (1, 1)
    assert "notes.jpg" in body["errors"][0]
    assert body["saved"][0]["ready"] is False  # drawn after the request, by the Celery task

    status = shop_a.client.get(reverse("console:photo-status", kwargs={"pk": shop_a.product.pk})).json()
    [photo] = status["photos"]
    assert (photo["ready"], photo["main"]) == (True, True)
    assert photo["thumb"].endswith(".jpg")


def test_a_photo_sent_twice_is_there_once_and_the_second_answer_says_so(shop_a):
    url = reverse("console:photo-upload", kwargs={"pk": shop_a.product.pk})
    sent = jpeg_bytes(colour=(200, 120, 140))
    first = shop_a.client.post(
        url, {"photos": SimpleUploadedFile("peach.jpg", sent)}, headers={"accept": "application/json"}
    ).json()
    again = shop_a.client.post(
        url, {"photos": SimpleUploadedFile("peach.jpg", sent)}, headers={"accept": "application/json"}
    )
    assert again.status_code == 200  # the uploader shows the photo, once
    body = again.json()
    assert [photo["id"] for photo in body["saved"]] == [photo["id"] for photo in first["saved"]]
    assert (first["added"], body["added"], body["errors"]) == (1, 0, [])
    assert "peach.jpg" in body["notes"][0]
    # Sent without the uploader (a plain form): the same, as a note on the photos page.
    page = shop_a.client.post(url, {"photos": SimpleUploadedFile("peach.jpg", sent)}, follow=True)
    assert "peach.jpg" in " ".join(str(message) for message in page.context["messages"])
    assert ProductImage.objects.filter(product=shop_a.product).count() == 1


def test_reordering_and_choosing_the_main_photo(shop_a):
    url = reverse("console:photo-upload", kwargs={"pk": shop_a.product.pk})
    for colour in ((255, 0, 0), (0, 255, 0)):
        shop_a.client.post(url, {"photos": SimpleUploadedFile("p.jpg", jpeg_bytes(colour=colour))})
    first, second = ProductImage.objects.filter(product=shop_a.product).order_by("display_order")

    shop_a.client.post(reverse("console:photo-main", kwargs={"pk": shop_a.product.pk, "photo_pk": second.pk}))
    assert shop_a.product.primary_image().pk == second.pk

    shop_a.client.post(
        reverse("console:photo-reorder", kwargs={"pk": shop_a.product.pk}), {"photo": [first.pk, second.pk]}
    )
    assert list(ProductImage.objects.filter(product=shop_a.product).order_by("display_order")) == [
        first,
        second,
    ]


# --- shop orders ----------------------------------------------------------------------------------


def test_the_shop_sees_only_its_part_of_a_buyers_order(shop_a, shop_b, paid_order):
    page = shop_a.client.get(reverse("console:orders"))
    [shop_order] = page.context["shop_orders"]
    assert shop_order.shop == shop_a.shop
    assert [line.title for line in shop_order.order.shop_lines] == [shop_a.product.title]
    assert shop_b.product.title.encode() not in page.content

    detail = shop_a.client.get(reverse("console:order", kwargs={"number": shop_order.number}))
    assert shop_b.product.title.encode() not in detail.content
    assert "138 0013 8000".replace(" ", "").encode() in detail.content.replace(b" ", b"")
    assert "世纪大道".encode() in detail.content


def test_accept_pack_slip_and_hand_over_move_the_order_and_take_the_boxes_off_stock(shop_a, paid_order):
    shop_order = paid_order.shop_orders.get(shop=shop_a.shop)
    number = shop_order.number
    client = shop_a.client

    response = client.post(reverse("console:order-accept", kwargs={"number": number}), follow=True)
    assert any(number in m for m in messages_of(response))
    response = client.post(
        reverse("console:order-pack", kwargs={"number": number}),
        {"parcel_count": "2", "parcel_weight_kg": "5.5"},
        follow=True,
    )
    shop_order.refresh_from_db()
    assert (shop_order.status, shop_order.parcel_count, shop_order.parcel_weight_g) == (S.PACKED, 2, 5500)

    slip = client.get(reverse("console:packing-slip", kwargs={"number": number}))
    assert slip.status_code == 200
    assert number.encode() in slip.content
    assert b"<svg" in slip.content
    assert shop_a.product.title.encode() in slip.content

    client.post(reverse("console:order-hand-over", kwargs={"number": number}))
    shop_order.refresh_from_db()
    assert shop_order.status == S.HANDED_OVER
    record = stock_of(shop_a.product)
    assert (record.num_in_stock, record.num_allocated) == (18, 0)
    moves = list(ShopOrderEvent.objects.filter(shop_order=shop_order).values_list("to_status", "actor"))
    assert moves[-3:] == [
        (S.ACCEPTED, shop_a.farmer.pk),
        (S.PACKED, shop_a.farmer.pk),
        (S.HANDED_OVER, shop_a.farmer.pk),
    ]


def test_a_move_the_state_machine_forbids_is_refused_with_a_message(shop_a, paid_order):
    number = paid_order.shop_orders.get(shop=shop_a.shop).number
    response = shop_a.client.post(reverse("console:order-hand-over", kwargs={"number": number}), follow=True)
    assert paid_order.shop_orders.get(shop=shop_a.shop).status == S.PAID
    assert any("cannot" in m or "不能" in m for m in messages_of(response))

    bad_pack = shop_a.client.post(
        reverse("console:order-pack", kwargs={"number": number}),
        {"parcel_count": "0", "parcel_weight_kg": "x"},
    )
    assert bad_pack.status_code == 400  # the order's page again, the errors by the fields
    assert paid_order.shop_orders.get(shop=shop_a.shop).status == S.PAID

    # Valid figures on an order not accepted yet: the shop order's refusal, said on the form.
    refused = shop_a.client.post(
        reverse("console:order-pack", kwargs={"number": number}),
        {"parcel_count": "3", "parcel_weight_kg": "7.25"},
    )
    assert refused.status_code == 409
    assert refused.context["pack_form"].non_field_errors()
    assert paid_order.shop_orders.get(shop=shop_a.shop).status == S.PAID


def test_packing_figures_refused_are_kept_on_the_orders_page(shop_a, paid_order):
    shop_order = paid_order.shop_orders.get(shop=shop_a.shop)
    shop_a.client.post(reverse("console:order-accept", kwargs={"number": shop_order.number}))
    events = ShopOrderEvent.objects.filter(shop_order=shop_order).count()

    response = shop_a.client.post(
        reverse("console:order-pack", kwargs={"number": shop_order.number}),
        {"parcel_count": "120", "parcel_weight_kg": "36.75"},
    )

    html = page_kept(response, form="pack_form", typed=[])
    assert 'value="120"' in html
    assert 'value="36.75"' in html
    assert 'data-testid="pack-form"' in html
    assert "parcel_count" in response.context["pack_form"].errors
    shop_order.refresh_from_db()
    assert (shop_order.status, shop_order.parcel_count) == (S.ACCEPTED, None)
    assert ShopOrderEvent.objects.filter(shop_order=shop_order).count() == events


def test_a_cancellation_reason_refused_is_kept_and_nothing_is_refunded(shop_a, paid_order):
    shop_order = paid_order.shop_orders.get(shop=shop_a.shop)
    typed = "冰雹打坏了桃子，<全部>无法发货。" * 40  # over 500 characters

    response = shop_a.client.post(
        reverse("console:order-cancel", kwargs={"number": shop_order.number}), {"reason": typed}
    )

    html = page_kept(response, form="cancel_form", typed=[typed])
    assert '<details class="c-danger" open>' in html
    assert ShopOrder.objects.get(pk=shop_order.pk).status == S.PAID
    assert not Refund.objects.exists()
    assert stock_of(shop_a.product).num_allocated > 0


def test_cancelling_with_a_reason_refunds_this_part_and_puts_stock_back(shop_a, shop_b, paid_order):
    shop_order = paid_order.shop_orders.get(shop=shop_a.shop)
    url = reverse("console:order-cancel", kwargs={"number": shop_order.number})

    shop_a.client.post(url, {"reason": "  "})
    assert ShopOrder.objects.get(pk=shop_order.pk).status == S.PAID

    response = shop_a.client.post(url, {"reason": "冰雹打坏了桃子"}, follow=True)
    shop_order.refresh_from_db()
    assert shop_order.status == S.REFUNDED
    assert Refund.objects.get(shop_order=shop_order).amount == shop_order.total
    assert stock_of(shop_a.product).num_allocated == 0
    assert paid_order.shop_orders.get(shop=shop_b.shop).status == S.PAID
    assert any(str(shop_order.total) in m for m in messages_of(response))
    problems = shop_a.client.get(reverse("console:orders") + "?tab=problems")
    assert [so.pk for so in problems.context["shop_orders"]] == [shop_order.pk]


def test_the_orders_page_query_count_does_not_grow_with_orders(
    shop_a, shop_b, stripe_settings, localstripe, django_assert_max_num_queries
):
    order_paid(localstripe, (shop_a.product, 1), (shop_b.product, 1))
    url = reverse("console:orders")
    shop_a.client.get(url)
    connection.queries_log.clear()  # the checkouts above filled Django's capped query log
    with django_assert_max_num_queries(15) as one:
        shop_a.client.get(url)
    queries_for_one = len(one.captured_queries)  # read now: the log is a capped, reused deque
    for _ in range(4):
        order_paid(localstripe, (shop_a.product, 1))
    connection.queries_log.clear()
    with django_assert_max_num_queries(queries_for_one) as many:
        response = shop_a.client.get(url)
    assert len(response.context["shop_orders"]) == 5
    assert len(many.captured_queries) == queries_for_one


def test_the_picking_list_sums_boxes_per_product_over_orders_shipping_by_the_day(
    shop_a, shop_b, stripe_settings, localstripe
):
    second = ProductFactory(title="阳山水蜜桃 12只装", shop=shop_a.shop, stock=(Decimal("268.00"), 10))
    order_paid(localstripe, (shop_a.product, 2), (second, 1))
    order_paid(localstripe, (shop_a.product, 3), (shop_b.product, 1))
    late = order_paid(localstripe, (shop_a.product, 4))
    late.shop_orders.update(ships_on=timezone.localdate() + timedelta(days=30))

    page = shop_a.client.get(reverse("console:picking"))
    rows = {row.title: (row.quantity, row.orders) for row in page.context["rows"]}
    assert rows == {shop_a.product.title: (5, 2), "阳山水蜜桃 12只装": (1, 1)}

    later = shop_a.client.get(
        reverse("console:picking"), {"day": (timezone.localdate() + timedelta(days=31)).isoformat()}
    )
    assert {row.title: row.quantity for row in later.context["rows"]}[shop_a.product.title] == 9


def test_the_sales_page_totals_the_ledger_sales_and_refunds(shop_a, shop_b, stripe_settings, localstripe):
    first = order_paid(localstripe, (shop_a.product, 2), (shop_b.product, 1))
    order_paid(localstripe, (shop_a.product, 1))
    cancelled = first.shop_orders.get(shop=shop_a.shop)
    shop_a.client.post(
        reverse("console:order-cancel", kwargs={"number": cancelled.number}), {"reason": "缺货"}
    )

    sales = shop_a.client.get(reverse("console:sales")).context["sales"]
    kept = ShopOrder.objects.filter(shop=shop_a.shop, status=S.PAID).get()
    # Both parts were sold today; the cancelled one's money went back today too.
    assert sales.today == kept.total + cancelled.total == sales.week == sales.month
    assert sales.orders_today == 2
    assert sales.refunded == cancelled.total
    assert sales.month_net == kept.total
    assert sales.top_products[0]["title"] == shop_a.product.title
    assert sales.top_products[0]["quantity"] == 3
    assert {status: n for status, _label, n in sales.by_status} == {S.PAID: 1, S.REFUNDED: 1}
    assert sales.days[-1].share == 1.0


def test_console_pages_render_in_chinese_and_english(shop_a, paid_order):
    for url in (
        reverse("console:home"),
        reverse("console:listings"),
        reverse("console:orders"),
        reverse("console:sales"),
    ):
        page = shop_a.client.get(url)
        assert page.status_code == 200
        assert 'lang="zh-hans"' in page.content.decode()
    shop_a.client.post(reverse("set_language"), {"language": "en", "next": "/shop/"})
    page = shop_a.client.get(reverse("console:orders"))
    assert 'lang="en"' in page.content.decode()
    assert "Orders" in page.content.decode()


def test_a_new_shop_without_listings_sees_an_empty_console(client):
    shop = ShopFactory(status="applied")
    farmer = UserFactory()
    farmer_attach(shop=shop, user=farmer)
    client.force_login(farmer)
    for name in ("home", "listings", "orders", "sales", "picking"):
        assert client.get(reverse(f"console:{name}")).status_code == 200


# --- import ---------------------------------------------------------------------------------------


def csv_upload(rows: list[list[str]]) -> SimpleUploadedFile:
    lines = ["名称,分类,种类,单价,库存"] + [",".join(row) for row in rows]
    return SimpleUploadedFile("listings.csv", ("\n".join(lines) + "\n").encode("utf-8-sig"), "text/csv")


def test_an_import_with_a_bad_row_previews_the_error_and_imports_nothing(shop_a):
    peach_category()
    ProductClass.objects.get_or_create(slug="fresh-fruit", defaults={"name": "鲜果"})
    upload = csv_upload(
        [["白凤桃 6只装", "水蜜桃", "鲜果", "88", "10"], ["湖景蜜露 6只装", "水蜜桃", "鲜果", "abc", "10"]]
    )

    response = shop_a.client.post(reverse("console:import"), {"file": upload})

    preview = response.context["preview"]
    [bad] = preview.error_rows
    assert bad.number == 3
    assert bad.errors[0][0] == "单价"
    assert b'data-testid="import-confirm"' not in response.content
    assert Product.objects.filter(shop=shop_a.shop).count() == 1
    # Confirming anyway (a forged post) imports nothing either.
    shop_a.client.post(reverse("console:import-confirm"), {"token": ""})
    assert Product.objects.filter(shop=shop_a.shop).count() == 1


def test_a_good_import_is_previewed_then_confirmed_all_at_once(shop_a):
    peach_category()
    ProductClass.objects.get_or_create(slug="fresh-fruit", defaults={"name": "鲜果"})
    rows = [[f"白凤桃 {n} 号", "水蜜桃", "鲜果", "88", "10"] for n in range(1, 21)]

    preview = shop_a.client.post(reverse("console:import"), {"file": csv_upload(rows)})
    assert preview.context["preview"].ok
    assert Product.objects.filter(shop=shop_a.shop).count() == 1  # nothing saved by the preview

    response = shop_a.client.post(
        reverse("console:import-confirm"), {"token": preview.context["token"]}, follow=True
    )
    assert Product.objects.filter(shop=shop_a.shop).count() == 21
    assert any("20" in m for m in messages_of(response))
    # The same token cannot import the rows twice.
    shop_a.client.post(reverse("console:import-confirm"), {"token": preview.context["token"]})
    assert Product.objects.filter(shop=shop_a.shop).count() == 21


def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_message(shop_a):
    upload = SimpleUploadedFile("photo.pdf", b"%PDF-1.4 not a sheet", "application/pdf")
    response = shop_a.client.post(reverse("console:import"), {"file": upload})
    assert response.status_code == 200
    assert "preview" not in response.context
    assert any(".xlsx" in m for m in messages_of(response))


def test_the_import_templates_download(shop_a):
    xlsx = shop_a.client.get(reverse("console:import-template", kwargs={"kind": "xlsx"}))
    assert xlsx.content[:2] == b"PK"
    csv_file = shop_a.client.get(reverse("console:import-template", kwargs={"kind": "csv"}))
    assert csv_file.content.startswith(b"\xef\xbb\xbf")
    assert "名称" in csv_file.content.decode("utf-8-sig")
    assert shop_a.client.get(reverse("console:import-template", kwargs={"kind": "exe"})).status_code == 404

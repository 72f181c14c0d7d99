"""The association's listing review: the status machine, approving and sending back from the
workspace (the storefront follows at once, cache on), the farmer's resubmission in the console,
buyers' reports from the product page, the queue and its query budget."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory

from marketplace.catalogue.reports import REPORTS_PER_DAY, ListingReportError, listing_report_create
from shops.association.listing_review import (
    ListingReviewError,
    listing_approve,
    listing_review_move,
    listing_send_back,
)
from shops.association.models import AuditEntry
from shops.association.selectors import waiting_tiles
from shops.listings import ListingError, listing_resume
from shops.services import farmer_attach, shop_status_change
from tests.factories import ProductFactory, ShopFactory, association_member, category
from tests.form_pages import page_kept

Product = get_model("catalogue", "Product")
Partner = get_model("partner", "Partner")
CategoryStandard = get_model("association", "CategoryStandard")
ListingReport = get_model("catalogue", "ListingReport")
ListingReviewEvent = get_model("association", "ListingReviewEvent")
Status = Product.ListingStatus

pytestmark = pytest.mark.django_db


# --- the world ------------------------------------------------------------------------------------


@pytest.fixture
def shoots():
    return category("竹笋", "Bamboo shoots", parent=category("山货干货", "Dried mountain goods"))


@pytest.fixture
def review_shop():
    return ShopFactory(name="永安村叶家茶坊", listing_review_required=True)


@pytest.fixture
def farmer(review_shop):
    user = UserFactory(email="ye@farm.example.cn")
    farmer_attach(shop=review_shop, user=user)
    client = english_client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def staff():
    user = association_member(email="staff@association.example.cn")
    client = english_client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def buyer():
    user = UserFactory(email="buyer@example.cn")
    client = english_client()
    client.force_login(user)
    client.user = user
    return client


def listing(shop, cat, *, status=Status.AWAITING_REVIEW, title="遂昌笋干 500克", **fields):
    product = ProductFactory(
        shop=shop, title=title, listing_status=status, is_public=status == Status.LIVE, **fields
    )
    product.categories.set([cat])
    return product


def english_client() -> Client:
    """A client reading the English pages (the messages are matched by their English text)."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def status_of(product) -> str:
    return Product.objects.get(pk=product.pk).listing_status


# --- the status machine ---------------------------------------------------------------------------

ALL_STATUSES = [Status.LIVE, Status.PAUSED, Status.AWAITING_REVIEW, Status.SENT_BACK]


# A listing's moves: the review's, and pausing and resuming (the farmer's, from the console).
ALLOWED = [
    (Status.AWAITING_REVIEW, Status.LIVE),
    (Status.AWAITING_REVIEW, Status.SENT_BACK),
    (Status.LIVE, Status.SENT_BACK),
    (Status.LIVE, Status.PAUSED),
    (Status.PAUSED, Status.SENT_BACK),
    (Status.PAUSED, Status.LIVE),
    (Status.SENT_BACK, Status.AWAITING_REVIEW),
]
EVERY_MOVE = [(a, b) for a in ALL_STATUSES for b in ALL_STATUSES]


@pytest.mark.parametrize(("from_status", "to_status"), EVERY_MOVE)
def test_only_the_table_s_moves_are_allowed_each_with_an_event(
    review_shop, shoots, staff, from_status, to_status
):
    product = listing(review_shop, shoots, status=from_status)

    if (from_status, to_status) in ALLOWED:
        moved = listing_review_move(product=product, to_status=to_status, actor=staff.user, reason="理由")
        assert moved.listing_status == to_status
        assert moved.is_public == (to_status == Status.LIVE)
        event = ListingReviewEvent.objects.get(product=product)
        assert (event.from_status, event.to_status, event.actor) == (from_status, to_status, staff.user)
    else:
        with pytest.raises(ListingReviewError):
            listing_review_move(product=product, to_status=to_status, actor=staff.user)
        assert status_of(product) == from_status
        assert not ListingReviewEvent.objects.exists()


# --- approve --------------------------------------------------------------------------------------


def test_staff_approve_a_listing_and_it_appears_in_the_cached_storefront(
    review_shop, shoots, staff, client, django_capture_on_commit_callbacks
):
    product = listing(review_shop, shoots, title="遂昌冬笋 2.5公斤")
    # The storefront renders (and caches) the shop's page without it.
    assert "遂昌冬笋" not in client.get(review_shop.get_absolute_url()).content.decode()
    assert client.get(product.get_absolute_url()).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("association:listing-approve", kwargs={"pk": product.pk}), follow=True)

    assert response.redirect_chain[-1][0] == reverse("association:listings")
    product.refresh_from_db()
    assert (product.listing_status, product.is_public) == (Status.LIVE, True)
    assert "遂昌冬笋" in client.get(review_shop.get_absolute_url()).content.decode()
    assert client.get(product.get_absolute_url()).status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.subject_id) == ("listing.approve", staff.user, str(product.pk))
    event = ListingReviewEvent.objects.get(product=product)
    assert (event.from_status, event.to_status) == (Status.AWAITING_REVIEW, Status.LIVE)


def test_staff_preview_a_listing_awaiting_review_that_buyers_cannot_open(review_shop, shoots, staff, buyer):
    product = listing(review_shop, shoots, title="遂昌冬笋 2.5公斤")

    detail = staff.get(reverse("association:listing", kwargs={"pk": product.pk})).content.decode()
    assert f'href="{product.get_absolute_url()}"' in detail
    preview = staff.get(product.get_absolute_url())
    assert preview.status_code == 200
    assert "遂昌冬笋" in preview.content.decode()
    assert buyer.get(product.get_absolute_url()).status_code == 404


def test_approving_a_listing_of_a_shop_that_is_not_approved_is_refused(review_shop, shoots, staff):
    product = listing(review_shop, shoots)
    shop_status_change(shop_id=review_shop.pk, to_status=Partner.Status.SUSPENDED, reason="停业整顿")

    response = staff.post(reverse("association:listing-approve", kwargs={"pk": product.pk}), follow=True)

    assert any("is not approved" in m for m in messages_of(response))
    assert status_of(product) == Status.AWAITING_REVIEW
    assert not AuditEntry.objects.exists()


def test_approval_is_refused_while_the_standards_are_not_met(review_shop, shoots, staff):
    CategoryStandard.objects.create(category=shoots, required_fields=["variety"], min_photos=0)
    product = listing(review_shop, shoots, variety="")

    response = staff.post(reverse("association:listing-approve", kwargs={"pk": product.pk}), follow=True)

    # (the field's label is translated, so the message is matched by its untranslated frame)
    assert any("does not meet the standards" in m for m in messages_of(response))
    assert status_of(product) == Status.AWAITING_REVIEW
    assert not AuditEntry.objects.exists()

    Product.objects.filter(pk=product.pk).update(variety="毛竹")
    listing_approve(product=product, actor=staff.user)
    assert status_of(product) == Status.LIVE


@pytest.mark.parametrize("status", [Status.LIVE, Status.PAUSED, Status.SENT_BACK])
def test_only_a_listing_awaiting_review_can_be_approved(review_shop, shoots, staff, status):
    product = listing(review_shop, shoots, status=status)
    with pytest.raises(ListingReviewError):
        listing_approve(product=product, actor=staff.user)
    assert status_of(product) == status
    assert not AuditEntry.objects.exists()


# --- send back and resubmit -----------------------------------------------------------------------


def test_a_reason_is_needed_to_send_a_listing_back(review_shop, shoots, staff):
    product = listing(review_shop, shoots)

    response = staff.post(
        reverse("association:listing-send-back", kwargs={"pk": product.pk}), {"reason": "  "}
    )

    assert response.status_code == 400
    assert "reason" in response.context["send_back_form"].errors
    assert status_of(product) == Status.AWAITING_REVIEW
    assert not AuditEntry.objects.exists()
    with pytest.raises(ListingReviewError):
        listing_send_back(product=product, actor=staff.user, reason="")


def test_a_send_back_the_listing_refuses_answers_the_listings_page_with_why(review_shop, shoots, staff):
    product = listing(review_shop, shoots, status=Status.SENT_BACK)  # sent back meanwhile, by another member

    response = staff.post(
        reverse("association:listing-send-back", kwargs={"pk": product.pk}), {"reason": "请补充净含量。"}
    )

    assert response.status_code == 409
    said = response.context["send_back_form"].non_field_errors()
    assert len(said) == 1
    assert said[0].startswith("A listing that is")
    assert said[0] in messages_of(response)
    assert status_of(product) == Status.SENT_BACK
    assert not AuditEntry.objects.exists()


def test_the_farmer_reads_the_reason_edits_and_resubmits(review_shop, shoots, staff, farmer):
    product = listing(review_shop, shoots)
    staff.post(
        reverse("association:listing-send-back", kwargs={"pk": product.pk}),
        {"reason": "请补充净含量和采挖时间。"},
    )
    product.refresh_from_db()
    assert (product.listing_status, product.is_public) == (Status.SENT_BACK, False)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.reason) == ("listing.send_back", "请补充净含量和采挖时间。")

    # The console: a tag in the list, the reason and a resubmit button on the listing's page.
    listings_page = farmer.get(reverse("console:listings")).content.decode()
    assert 'data-testid="sent-back"' in listings_page
    page = farmer.get(reverse("console:listing-edit", kwargs={"pk": product.pk})).content.decode()
    assert "请补充净含量和采挖时间。" in page
    assert 'data-testid="resubmit-listing"' in page

    # Not resumed directly …
    with pytest.raises(ListingError):
        listing_resume(product=product, actor=farmer.user)
    farmer.post(reverse("console:listing-resume", kwargs={"pk": product.pk}))
    assert status_of(product) == Status.SENT_BACK

    # … but resubmitted for review.
    response = farmer.post(reverse("console:listing-resubmit", kwargs={"pk": product.pk}), follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:listings")
    product.refresh_from_db()
    assert (product.listing_status, product.is_public) == (Status.AWAITING_REVIEW, False)
    event = ListingReviewEvent.objects.filter(product=product).first()
    assert (event.to_status, event.actor) == (Status.AWAITING_REVIEW, farmer.user)
    # A second resubmit is refused: it already waits.
    response = farmer.post(reverse("console:listing-resubmit", kwargs={"pk": product.pk}), follow=True)
    assert any("Only a listing sent back" in m for m in messages_of(response))


def test_resubmitting_is_refused_while_the_standards_are_not_met(review_shop, shoots, staff, farmer):
    CategoryStandard.objects.create(category=shoots, required_fields=["net_weight"])
    product = listing(review_shop, shoots, status=Status.SENT_BACK, net_weight_g=None)

    page = farmer.get(reverse("console:listing-edit", kwargs={"pk": product.pk})).content.decode()
    assert 'data-testid="review-problems"' in page
    response = farmer.post(reverse("console:listing-resubmit", kwargs={"pk": product.pk}), follow=True)

    assert any("Fix these first" in m for m in messages_of(response))
    assert status_of(product) == Status.SENT_BACK


def test_another_shop_s_farmer_cannot_resubmit(review_shop, shoots):
    product = listing(review_shop, shoots, status=Status.SENT_BACK)
    other = UserFactory()
    farmer_attach(shop=ShopFactory(), user=other)
    client = Client()
    client.force_login(other)
    assert client.post(reverse("console:listing-resubmit", kwargs={"pk": product.pk})).status_code == 404
    assert status_of(product) == Status.SENT_BACK


# --- buyers' reports ------------------------------------------------------------------------------


def report_url(product) -> str:
    return reverse("storefront:listing-report", kwargs={"pk": product.pk})


def test_a_buyer_reports_a_listing_it_stays_on_sale_and_enters_the_queue(review_shop, shoots, buyer, staff):
    product = listing(review_shop, shoots, status=Status.LIVE)
    page = buyer.get(product.get_absolute_url()).content.decode()
    assert 'data-testid="listing-report-form"' in page

    response = buyer.post(report_url(product), {"reason": "quality", "text": "笋干发霉"}, follow=True)

    assert response.redirect_chain[-1][0] == product.get_absolute_url()
    report = ListingReport.objects.get()
    assert (report.product, report.reporter, report.reason, report.text, report.status) == (
        product,
        buyer.user,
        "quality",
        "笋干发霉",
        ListingReport.Status.OPEN,
    )
    assert Product.objects.storefront().filter(pk=product.pk).exists()
    queue = staff.get(reverse("association:listings") + "?kind=reported")
    [row] = queue.context["rows"]
    assert (row.product, row.open_reports) == (product, 1)


def test_one_open_report_per_buyer_per_listing(review_shop, shoots, buyer):
    product = listing(review_shop, shoots, status=Status.LIVE)
    buyer.post(report_url(product), {"reason": "price", "text": "比别家贵一倍"})

    again = buyer.post(report_url(product), {"reason": "quality", "text": "再说一次"})

    assert again.status_code == 400
    assert "already reported" in " ".join(again.context["form"].non_field_errors())
    assert ListingReport.objects.count() == 1


def test_a_visitor_is_sent_to_sign_in_and_nothing_is_reported(review_shop, shoots, client):
    product = listing(review_shop, shoots, status=Status.LIVE)
    page = client.get(product.get_absolute_url()).content.decode()
    assert "listing-report-form" not in page  # only a sign-in link

    response = client.post(report_url(product), {"reason": "quality", "text": "x"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("customer:login"))
    assert not ListingReport.objects.exists()
    with pytest.raises(ListingReportError):
        listing_report_create(product=product, reporter=AnonymousUser(), reason="quality")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "nonsense", "text": "x"}, "reason"),
        ({"text": "没有选原因"}, "reason"),
        ({"reason": "other", "text": "  "}, "text"),
        ({"reason": "quality", "text": "长" * 2001}, "text"),
    ],
)
def test_a_bad_report_is_refused_with_its_field_named_and_the_text_kept(
    review_shop, shoots, buyer, data, field
):
    product = listing(review_shop, shoots, status=Status.LIVE)

    response = buyer.post(report_url(product), data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ListingReport.objects.exists()
    if data.get("text", "").strip() and len(data["text"]) < 100:
        assert data["text"] in response.content.decode()


def test_a_listing_not_on_sale_cannot_be_reported(review_shop, shoots, buyer):
    product = listing(review_shop, shoots, status=Status.AWAITING_REVIEW)
    assert buyer.post(report_url(product), {"reason": "quality"}).status_code == 404
    assert not ListingReport.objects.exists()


def test_a_farmer_cannot_report_their_own_shop_s_listing(review_shop, shoots, farmer):
    product = listing(review_shop, shoots, status=Status.LIVE)
    response = farmer.post(report_url(product), {"reason": "price", "text": "x"})
    assert response.status_code == 400
    assert not ListingReport.objects.exists()


def test_reports_are_rate_limited_per_buyer_per_day(review_shop, shoots, buyer):
    products = [
        listing(review_shop, shoots, status=Status.LIVE, title=f"笋干{i}") for i in range(REPORTS_PER_DAY + 1)
    ]
    for product in products[:REPORTS_PER_DAY]:
        assert buyer.post(report_url(product), {"reason": "quality", "text": "x"}).status_code == 302

    refused = buyer.post(report_url(products[-1]), {"reason": "quality", "text": "x"})

    assert refused.status_code == 400
    assert "try again tomorrow" in refused.content.decode()
    assert ListingReport.objects.count() == REPORTS_PER_DAY
    # A day later the buyer may report again.
    ListingReport.objects.update(created_at=timezone.now() - datetime.timedelta(days=1, minutes=1))
    assert buyer.post(report_url(products[-1]), {"reason": "quality", "text": "x"}).status_code == 302


def test_staff_dismiss_reports_and_the_listing_stays_on_sale(review_shop, shoots, buyer, staff):
    product = listing(review_shop, shoots, status=Status.LIVE)
    listing_report_create(product=product, reporter=buyer.user, reason="price", text="太贵")

    response = staff.post(
        reverse("association:listing-dismiss", kwargs={"pk": product.pk}), {"reason": "价格合理"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("association:listings")
    report = ListingReport.objects.get()
    assert (report.status, report.resolution, report.resolved_by, report.resolution_note) == (
        ListingReport.Status.RESOLVED,
        ListingReport.Resolution.DISMISSED,
        staff.user,
        "价格合理",
    )
    assert report.resolved_at is not None
    assert status_of(product) == Status.LIVE
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.reason, entry.details) == (
        "listing.report_dismiss",
        "价格合理",
        {"reports": [report.pk]},
    )
    assert staff.get(reverse("association:listings")).context["rows"] == []
    # Nothing left to dismiss: refused, nothing logged.
    staff.post(reverse("association:listing-dismiss", kwargs={"pk": product.pk}), {"reason": ""})
    assert AuditEntry.objects.count() == 1
    # The buyer may report it again now the first report is closed.
    listing_report_create(product=product, reporter=buyer.user, reason="price", text="还是太贵")
    assert ListingReport.objects.filter(status=ListingReport.Status.OPEN).count() == 1


def test_a_dismissal_reason_too_long_is_kept_and_the_reports_stay_open(review_shop, shoots, buyer, staff):
    product = listing(review_shop, shoots, status=Status.LIVE)
    listing_report_create(product=product, reporter=buyer.user, reason="price", text="太贵")
    typed = "价格合理，与同村同类相当 <已核实>。" * 120  # over 2,000 characters

    response = staff.post(
        reverse("association:listing-dismiss", kwargs={"pk": product.pk}), {"reason": typed}
    )

    html = page_kept(response, form="dismiss_form", typed=[typed])
    assert 'data-testid="dismiss-form"' in html
    assert "Please correct the fields marked below." in messages_of(response)
    assert ListingReport.objects.get().status == ListingReport.Status.OPEN
    assert not AuditEntry.objects.exists()


def test_sending_back_a_reported_live_listing_hides_it_at_once_and_resolves_its_reports(
    review_shop, shoots, buyer, staff, farmer, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        product = listing(review_shop, shoots, status=Status.LIVE, title="遂昌笋干 500克")
    listing_report_create(product=product, reporter=buyer.user, reason="claim", text="写着有机，没有证书")
    other = UserFactory()
    listing_report_create(product=product, reporter=other, reason="description")
    # Rendered and cached while on sale.
    assert client.get(product.get_absolute_url()).status_code == 200
    assert "遂昌笋干" in client.get(review_shop.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("association:listing-send-back", kwargs={"pk": product.pk}),
            {"reason": "不能写有机：没有有机认证。"},
        )

    assert client.get(product.get_absolute_url()).status_code == 404
    assert "遂昌笋干" not in client.get(review_shop.get_absolute_url()).content.decode()
    assert not Product.objects.storefront().filter(pk=product.pk).exists()
    assert set(ListingReport.objects.values_list("status", "resolution")) == {
        (ListingReport.Status.RESOLVED, ListingReport.Resolution.SENT_BACK)
    }
    entry = AuditEntry.objects.get()
    assert entry.action == "listing.send_back"
    assert sorted(entry.details["reports"]) == sorted(ListingReport.objects.values_list("pk", flat=True))
    page = farmer.get(reverse("console:listing-edit", kwargs={"pk": product.pk})).content.decode()
    assert "不能写有机：没有有机认证。" in page


# --- the queue, the detail page and the overview ----------------------------------------------------


def test_the_queue_lists_awaiting_and_reported_listings_oldest_first_and_filters(
    review_shop, shoots, staff, buyer
):
    tea = category("绿茶", "Green tea", parent=category("茶叶", "Tea"))
    other_shop = ShopFactory(name="龙谷茶园")
    older = listing(review_shop, shoots, title="笋干 旧")
    Product.objects.filter(pk=older.pk).update(date_created=timezone.now() - datetime.timedelta(days=3))
    reported = listing(other_shop, tea, status=Status.LIVE, title="明前茶")
    listing_report_create(product=reported, reporter=buyer.user, reason="quality", text="有碎末")
    ListingReport.objects.update(created_at=timezone.now() - datetime.timedelta(days=2))
    newest = listing(review_shop, shoots, title="笋干 新")
    listing(review_shop, shoots, status=Status.LIVE, title="不在队列里")  # live, no report

    def titles(query=""):
        response = staff.get(reverse("association:listings") + query)
        assert response.status_code == 200
        return [row.product.title for row in response.context["rows"]]

    assert titles() == ["笋干 旧", "明前茶", "笋干 新"]
    assert titles("?kind=awaiting") == ["笋干 旧", "笋干 新"]
    assert titles("?kind=reported") == ["明前茶"]
    assert titles(f"?shop={other_shop.pk}") == ["明前茶"]
    assert titles(f"?category={tea.get_parent().pk}") == ["明前茶"]  # a category includes its children
    assert titles(f"?category={shoots.pk}&kind=reported") == []
    assert titles("?shop=abc&kind=bogus") == ["笋干 旧", "明前茶", "笋干 新"]  # nonsense filters are ignored
    page = staff.get(reverse("association:listings")).content.decode()
    assert page.count('data-testid="queue-row"') == 3
    assert f'data-product="{newest.pk}"' in page


def test_the_queue_runs_a_fixed_number_of_queries(
    review_shop, shoots, staff, buyer, django_assert_max_num_queries
):
    def queries_for_queue() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert staff.get(reverse("association:listings")).status_code == 200
        return len(captured)

    first = listing(review_shop, shoots, title="笋干 1")
    listing_report_create(
        product=listing(review_shop, shoots, status=Status.LIVE), reporter=buyer.user, reason="price"
    )
    with_one = queries_for_queue()
    for i in range(8):
        product = listing(ShopFactory(), shoots, title=f"笋干 {i + 2}")
        ListingReviewEvent.objects.create(
            product=product, from_status=Status.SENT_BACK, to_status=Status.AWAITING_REVIEW
        )
    with_many = queries_for_queue()

    assert with_many == with_one
    with django_assert_max_num_queries(15):
        response = staff.get(reverse("association:listings"))
    rows = response.context["rows"]
    assert len(rows) == 10
    assert rows[0].product.pk == first.pk  # waiting the longest


def test_the_detail_page_shows_everything_and_runs_a_fixed_number_of_queries(
    review_shop, shoots, staff, django_assert_max_num_queries
):
    product = listing(review_shop, shoots, status=Status.LIVE, title="遂昌笋干 500克", variety="毛竹")
    for i in range(3):
        listing_report_create(product=product, reporter=UserFactory(), reason="quality", text=f"问题{i}")
    url = reverse("association:listing", kwargs={"pk": product.pk})

    with django_assert_max_num_queries(15):
        response = staff.get(url)

    page = response.content.decode()
    assert page.count('data-testid="report"') == 3
    assert 'data-testid="send-back-listing"' in page
    assert 'data-testid="dismiss-reports"' in page
    assert 'data-testid="approve-listing"' not in page  # only for a listing awaiting review
    assert "毛竹" in page
    assert staff.get(reverse("association:listing", kwargs={"pk": 999999})).status_code == 404


def test_the_overview_counts_listings_awaiting_review_and_open_reports(review_shop, shoots, staff, buyer):
    listing(review_shop, shoots)
    listing(review_shop, shoots)
    listing_report_create(
        product=listing(review_shop, shoots, status=Status.LIVE), reporter=buyer.user, reason="price"
    )

    with translation.override("en"):
        tiles = {tile.label: tile.count for tile in waiting_tiles()}

    assert tiles["listings awaiting review"] == 2
    assert tiles["buyers' reports open"] == 1
    page = staff.get(reverse("association:home")).content.decode()
    assert reverse("association:listings") + "?kind=awaiting" in page


def test_the_queue_price_and_stock_come_from_the_shop_s_record(review_shop, shoots, staff):
    listing(review_shop, shoots, stock=(Decimal("45.50"), 10))
    row = staff.get(reverse("association:listings")).context["rows"][0]
    assert row.price == Decimal("45.50")
    assert row.photo_count == 0


# --- the demo ---------------------------------------------------------------------------------------


def test_the_demo_fills_the_queue_and_a_second_run_changes_nothing(settings):
    from fixtures.listing_review import listing_review_demo
    from fixtures.loader import demo_load

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_load()

    first = listing_review_demo()
    rows = (
        CategoryStandard.objects.count(),
        Product.objects.count(),
        ListingReport.objects.count(),
        AuditEntry.objects.count(),
    )
    second = listing_review_demo()

    assert str(first) == str(second)
    assert (first.standards, first.awaiting_review, first.open_reports) == (4, 2, 1)
    assert rows == (
        CategoryStandard.objects.count(),
        Product.objects.count(),
        ListingReport.objects.count(),
        AuditEntry.objects.count(),
    )
    queue = [row.product.upc for row in queue_rows_of_demo()]
    assert set(queue) == {"SC-YA-QHC-250", "SC-YA-YC-SAMPLE", "SC-DS-SG-500"}
    waiting = {p.upc: p for p in queue_rows_of_demo_products()}
    from shops.association.listing_review import listing_standards_check as check

    assert check(waiting["SC-YA-QHC-250"]) == []  # ready to approve
    assert {p.code for p in check(waiting["SC-YA-YC-SAMPLE"])} == {"field:net_weight", "photos"}
    # The GI is registered for Yangshan and Suichang: the demo's GI listings (peaches, Suichang tea) pass.
    gi_listings = Product.objects.filter(certifications__code="gi")
    assert gi_listings.exists()
    assert all(not any(p.code.startswith("claim:") for p in check(product)) for product in gi_listings)
    # The workspace's pages render the demo (photos included).
    client = Client()
    client.force_login(association_member())
    assert client.get(reverse("association:listings")).status_code == 200
    for product in waiting.values():
        assert client.get(reverse("association:listing", kwargs={"pk": product.pk})).status_code == 200
    assert client.get(reverse("association:standards")).status_code == 200


def queue_rows_of_demo():
    from shops.association.listing_selectors import queue_rows, review_queue

    return queue_rows(review_queue())


def queue_rows_of_demo_products():
    return [row.product for row in queue_rows_of_demo()]

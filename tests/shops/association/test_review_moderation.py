"""The association moderates buyers' reviews in its workspace: a buyer's review waits in the queue,
publishing shows it on the product's page and counts it in the rating, rejecting needs a reason and
hides it for good; each decision is in the decision log, and only association staff may decide."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from oscar.core.loading import get_model

from shops.association.models import AuditEntry
from shops.association.review_moderation import ReviewModerationError, review_publish
from tests.factories import ProductFactory, association_member
from tests.form_pages import page_kept

ProductReview = get_model("reviews", "ProductReview")

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ProductFactory(stock=(Decimal("10.00"), 5))


@pytest.fixture
def review(product):
    """A buyer's review, posted through the product page as buyers post them."""
    buyer = Client()
    buyer.force_login(get_user_model().objects.create_user("buyer", "buyer@example.cn", "pw"))
    url = reverse("catalogue:reviews-add", kwargs={"product_slug": product.slug, "product_pk": product.pk})
    buyer.post(url, {"title": "真甜", "score": 4, "body": "桃子很甜，汁多"})
    return ProductReview.objects.get()


@pytest.fixture
def staff():
    client = Client()
    client.force_login(association_member())
    return client


def page_of(product) -> str:
    return Client().get(product.get_absolute_url()).content.decode()


def test_the_queue_shows_the_waiting_review_and_the_overview_counts_it(staff, review):
    queue = staff.get(reverse("association:reviews")).content.decode()
    assert "桃子很甜，汁多" in queue
    assert f'data-review="{review.pk}"' in queue
    overview = staff.get(reverse("association:home")).content.decode()
    assert reverse("association:reviews") in overview


def test_publishing_shows_the_review_and_counts_it_in_the_rating(
    staff, review, product, django_capture_on_commit_callbacks
):
    assert "桃子很甜" not in page_of(product)  # and the page's fragments are now cached

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("association:review-publish", args=[review.pk]))

    assert response.status_code == 302
    review.refresh_from_db()
    product.refresh_from_db()
    assert review.status == ProductReview.APPROVED
    assert product.rating == 4
    assert "桃子很甜" in page_of(product)
    assert "桃子很甜" not in staff.get(reverse("association:reviews")).content.decode()
    entry = AuditEntry.objects.get(action="review.publish")
    assert entry.subject_id == str(review.pk)


def test_rejecting_needs_a_reason_and_hides_the_review(staff, review, product):
    staff.post(reverse("association:review-reject", args=[review.pk]), {"reason": "  "})
    review.refresh_from_db()
    assert review.status == ProductReview.FOR_MODERATION  # no reason, no decision

    staff.post(reverse("association:review-reject", args=[review.pk]), {"reason": "广告内容"})

    review.refresh_from_db()
    assert review.status == ProductReview.REJECTED
    assert AuditEntry.objects.get(action="review.reject").reason == "广告内容"
    assert "桃子很甜" not in page_of(product)


def test_a_rejection_reason_refused_is_kept_on_its_review_in_the_queue(staff, review, product):
    other = ProductReview.objects.create(
        product=product, title="一般", score=3, body="还行", name="王", email="w@example.cn"
    )
    typed = "广告内容：加微信 <tao-yuan> 买更便宜" * 90  # over 2,000 characters

    response = staff.post(reverse("association:review-reject", args=[review.pk]), {"reason": typed})

    html = page_kept(response, form="reject_form", typed=[typed])
    assert response.context["rejected_review_id"] == review.pk
    assert html.count(escape(typed)) == 1  # on the rejected review's form, not on the other's
    assert f'data-review="{other.pk}"' in html
    review.refresh_from_db()
    assert review.status == ProductReview.FOR_MODERATION
    assert not AuditEntry.objects.exists()


def test_a_rejection_on_a_later_page_answers_with_that_page(staff, review, product, settings):
    for n in range(30):  # the queue shows 30 a page, oldest first: the review below is on page 2
        ProductReview.objects.create(product=product, title=f"第{n}条", score=5, body="好", name="买家")
    last = ProductReview.objects.create(product=product, title="最后", score=1, body="差", name="买家")
    queue = staff.get(reverse("association:reviews"), {"page": 2}).content.decode()
    action = reverse("association:review-reject", args=[last.pk]) + "?page=2"
    assert f'action="{action}"' in queue

    response = staff.post(action, {"reason": "  "})

    assert response.status_code == 400
    assert response.context["page_obj"].number == 2
    assert f'data-review="{last.pk}"' in response.content.decode()
    assert "reason" in response.context["reject_form"].errors


def test_a_decided_review_is_not_decided_again(staff, review):
    staff.post(reverse("association:review-reject", args=[review.pk]), {"reason": "广告内容"})

    with pytest.raises(ReviewModerationError):
        review_publish(review_id=review.pk, actor=association_member(email="other@assoc.example.cn"))
    response = staff.post(reverse("association:review-publish", args=[review.pk]), follow=True)

    review.refresh_from_db()
    assert review.status == ProductReview.REJECTED
    assert AuditEntry.objects.filter(action__startswith="review.").count() == 1
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["review-publish", "review-reject"])
def test_only_association_staff_decide(review, name):
    outsider = Client()
    outsider.force_login(get_user_model().objects.create_user("nosy", "nosy@example.cn", "pw"))

    response = outsider.post(reverse(f"association:{name}", args=[review.pk]), {"reason": "x"})

    assert response.status_code == 403
    review.refresh_from_db()
    assert review.status == ProductReview.FOR_MODERATION

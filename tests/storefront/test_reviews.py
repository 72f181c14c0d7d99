"""Reviews: anonymous visitors cannot write one; a signed-in buyer's review waits for a moderator."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from oscar.core.loading import get_model

from tests.factories import ProductFactory

ProductReview = get_model("reviews", "ProductReview")

pytestmark = pytest.mark.django_db


def add_url(product) -> str:
    return reverse("catalogue:reviews-add", kwargs={"product_slug": product.slug, "product_pk": product.pk})


REVIEW = {"title": "好吃", "score": 5, "body": "很甜", "name": "路人", "email": "spam@example.cn"}


def test_an_anonymous_visitor_cannot_review(client):
    product = ProductFactory(stock=(Decimal("10.00"), 5))

    response = client.post(add_url(product), REVIEW)

    assert response.status_code == 302
    assert not ProductReview.objects.exists()
    assert add_url(product) not in client.get(product.get_absolute_url()).content.decode()  # no link


def test_a_buyers_review_waits_for_a_moderator(client):
    product = ProductFactory(stock=(Decimal("10.00"), 5))
    client.force_login(get_user_model().objects.create_user("buyer", "buyer@example.cn", "pw"))

    client.post(add_url(product), REVIEW)

    review = ProductReview.objects.get()
    assert review.status == ProductReview.FOR_MODERATION
    assert "很甜" not in client.get(product.get_absolute_url()).content.decode()
    ProductReview.objects.filter(pk=review.pk).update(status=ProductReview.APPROVED)
    product.refresh_from_db()
    assert product.reviews.approved().count() == 1

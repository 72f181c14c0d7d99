"""The association moderates buyers' product reviews: every review is held (``OSCAR_MODERATE_REVIEWS``)
until the association's staff publish or reject it here. A published review counts in the product's
rating (Oscar's ``ProductReview.save`` recomputes it); a rejected one is never shown. Each decision is
written to the association's decision log."""

from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.locks import for_update
from shops.association.audit import audit_record

if TYPE_CHECKING:
    from oscar.apps.catalogue.reviews.models import ProductReview
else:
    ProductReview = get_model("reviews", "ProductReview")

REASON_MAX_CHARS = 2000


class ReviewModerationError(ValueError):
    """A moderation decision that cannot be taken; the message says why, for the user."""


def reviews_awaiting() -> QuerySet["ProductReview"]:
    """Reviews waiting for a decision, oldest first, with what the queue shows of each."""
    return (
        ProductReview.objects.filter(status=ProductReview.FOR_MODERATION)
        .select_related("product", "product__shop", "user")
        .order_by("date_created", "pk")
    )


def reviews_awaiting_count() -> int:
    return ProductReview.objects.filter(status=ProductReview.FOR_MODERATION).count()


def _decide(
    *, review_id: int, actor: AbstractBaseUser, status: int, action: str, reason: str = ""
) -> "ProductReview":
    with transaction.atomic():
        review = (
            for_update(ProductReview.objects.all(), of=("self",))
            .select_related("product")
            .filter(pk=review_id)
            .first()
        )
        if review is None:
            raise ReviewModerationError(_("That review no longer exists."))
        if review.status != ProductReview.FOR_MODERATION:
            raise ReviewModerationError(_("That review was already decided."))
        review.status = status
        review.save(update_fields=["status"])  # and the product's rating, in Oscar's save
        audit_record(
            actor=actor,
            action=action,
            subject=review,
            reason=reason,
            details={"product": review.product_id, "score": review.score},
        )
    return review


def review_publish(*, review_id: int, actor: AbstractBaseUser) -> "ProductReview":
    """Show the review on its product's page and count it in the product's rating."""
    return _decide(review_id=review_id, actor=actor, status=ProductReview.APPROVED, action="review.publish")


def review_reject(*, review_id: int, actor: AbstractBaseUser, reason: str) -> "ProductReview":
    """Never show the review. The reason is kept in the decision log."""
    reason = reason.strip()
    if not reason:
        raise ReviewModerationError(_("Say why the review is rejected: it is kept in the decision log."))
    return _decide(
        review_id=review_id,
        actor=actor,
        status=ProductReview.REJECTED,
        action="review.reject",
        reason=reason[:REASON_MAX_CHARS],
    )

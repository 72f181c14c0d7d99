"""The review moderation page of the association's workspace: buyers' reviews waiting for a decision,
each published or rejected. Thin: reads and writes through ``review_moderation``."""

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView

from marketplace.http import AuthenticatedHttpRequest
from shops.association.access import AssociationAccessMixin
from shops.association.listing_forms import RejectReviewForm
from shops.association.review_moderation import (
    ReviewModerationError,
    review_publish,
    review_reject,
    reviews_awaiting,
)


class ReviewQueueView(AssociationAccessMixin, ListView):
    template_name = "association/reviews.html"
    section = "reviews"
    paginate_by = 30

    def get_queryset(self) -> QuerySet[Any]:
        return reviews_awaiting()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(reject_form=RejectReviewForm(), **kwargs)


class ReviewPublishView(AssociationAccessMixin, View):
    def post(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        try:
            review = review_publish(review_id=pk, actor=request.user)
        except ReviewModerationError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, _("The review of “%(title)s” is published.") % {"title": review.product.title}
            )
        return redirect("association:reviews")


class ReviewRejectView(AssociationAccessMixin, View):
    def post(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        form = RejectReviewForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Say why the review is rejected: it is kept in the decision log."))
            return redirect("association:reviews")
        try:
            review = review_reject(review_id=pk, actor=request.user, reason=form.cleaned_data["reason"])
        except ReviewModerationError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, _("The review of “%(title)s” is rejected.") % {"title": review.product.title}
            )
        return redirect("association:reviews")

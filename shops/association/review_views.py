"""The review moderation page of the association's workspace: buyers' reviews waiting for a decision,
each published or rejected. Thin: reads and writes through ``review_moderation``."""

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView

from marketplace.http import AuthenticatedHttpRequest
from marketplace.storefront.form_pages import PageFormAction
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
        kwargs.setdefault("reject_form", RejectReviewForm())
        return super().get_context_data(**kwargs)


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


class ReviewRejectView(PageFormAction, ReviewQueueView):
    """Rejects one review; refused input is answered with the queue (the page the form was sent from, as
    its action carries the page number), the typed reason kept on that review."""

    form_name = "reject_form"

    def page_url(self) -> str:
        return reverse("association:reviews")

    def form_context(self, form: forms.Form) -> dict[str, Any]:
        return {"reject_form": form, "rejected_review_id": self.kwargs["pk"]}

    def page_load(self) -> None:
        self.object_list = self.get_queryset()  # as ListView.get

    def post(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        form = RejectReviewForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            review = review_reject(review_id=pk, actor=request.user, reason=form.cleaned_data["reason"])
        except ReviewModerationError as error:
            return self.form_refused_page(form, str(error))
        messages.success(
            request, _("The review of “%(title)s” is rejected.") % {"title": review.product.title}
        )
        return redirect("association:reviews")

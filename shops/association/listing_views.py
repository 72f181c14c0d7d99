"""The listing review's pages in the association's workspace: the queue, one listing with its
decisions (approve, send back, dismiss reports), and the category standards. Thin: reads through
``listing_selectors``, writes through ``listing_review``."""

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, ListView, TemplateView
from oscar.core.loading import get_model

from marketplace.form_fields import id_or_none
from marketplace.http import AuthenticatedHttpRequest
from marketplace.storefront.form_pages import PageFormAction
from shops.association.access import AssociationAccessMixin
from shops.association.listing_forms import CategoryStandardForm, DismissReportsForm, SendBackForm
from shops.association.listing_review import (
    ListingReviewError,
    category_standard_set,
    listing_approve,
    listing_reports_dismiss,
    listing_send_back,
    listing_standards_check,
)
from shops.association.listing_selectors import (
    QUEUE_KINDS,
    certifications_with_regions,
    queue_rows,
    review_filter_choices,
    review_listing,
    review_queue,
    standard_rows,
)

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
else:
    Product = get_model("catalogue", "Product")
Category = get_model("catalogue", "Category")
CategoryStandard = get_model("association", "CategoryStandard")


class ListingQueueView(AssociationAccessMixin, ListView):
    template_name = "association/listings.html"
    section = "listings"
    paginate_by = 50

    def filters(self) -> dict:
        kind = self.request.GET.get("kind", "")
        return {
            "shop_id": id_or_none(self.request.GET.get("shop")),
            "category_id": id_or_none(self.request.GET.get("category")),
            "kind": kind if kind in QUEUE_KINDS else "",
        }

    def get_queryset(self) -> QuerySet[Any]:
        return review_queue(**self.filters())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        shops, categories = review_filter_choices()
        context.update(
            rows=queue_rows(context["page_obj"].object_list),
            filters=self.filters(),
            shops=shops,
            categories=categories,
            query=self.request.GET.copy(),
        )
        context["query"].pop("page", None)
        return context


class ListingObjectMixin(AssociationAccessMixin):
    section = "listings"
    kwargs: dict[str, Any]  # the URL's, set by Django's View

    def get_product(self) -> "Product":
        try:
            return review_listing(product_id=self.kwargs["pk"])
        except Product.DoesNotExist:
            raise Http404 from None

    def get_decided_product(self) -> "Product":
        """The listing a decision is posted on: the decision's service loads what it needs itself."""
        return get_object_or_404(
            Product.objects.only("pk", "title"), pk=self.kwargs["pk"], parent__isnull=True
        )


class ListingDetailView(ListingObjectMixin, TemplateView):
    template_name = "association/listings_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("send_back_form", SendBackForm())
        kwargs.setdefault("dismiss_form", DismissReportsForm())
        context = super().get_context_data(**kwargs)
        product = self.get_product()
        reports = list(product.reports.all())
        context.update(
            product=product,
            stockrecord=next(iter(product.stockrecords.all()), None),
            problems=listing_standards_check(product),
            reports=reports,
            open_reports=[report for report in reports if report.status == report.Status.OPEN],
            events=list(product.review_events.all()),
        )
        return context


class ListingApproveView(ListingObjectMixin, View):
    def post(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        product = self.get_decided_product()
        try:
            listing_approve(product=product, actor=request.user)
        except ListingReviewError as error:
            messages.error(request, str(error))
            return redirect("association:listing", pk=pk)
        messages.success(request, _("“%(title)s” is approved and on sale.") % {"title": product.title})
        return redirect("association:listings")


class ListingFormAction(PageFormAction, ListingDetailView):
    """A decision typed on the listing's page: refused input is answered with the listing's page."""

    page_name = "association:listing"
    request: AuthenticatedHttpRequest


class ListingSendBackView(ListingFormAction):
    form_name = "send_back_form"

    def post(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        product = self.get_decided_product()
        form = SendBackForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            listing_send_back(product=product, actor=request.user, reason=form.cleaned_data["reason"])
        except ListingReviewError as error:
            return self.form_refused_page(form, str(error))
        messages.success(
            request, _("“%(title)s” is sent back to its farmer with your reason.") % {"title": product.title}
        )
        return redirect("association:listings")


class ListingReportsDismissView(ListingFormAction):
    form_name = "dismiss_form"

    def post(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        product = self.get_decided_product()
        form = DismissReportsForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            count = listing_reports_dismiss(
                product=product, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ListingReviewError as error:
            return self.form_refused_page(form, str(error))
        messages.success(
            request,
            _("%(count)d report(s) on “%(title)s” dismissed; the listing stays on sale.")
            % {"count": count, "title": product.title},
        )
        return redirect("association:listings")


class StandardListView(AssociationAccessMixin, TemplateView):
    template_name = "association/standards.html"
    section = "listings"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            rows=standard_rows(), certifications=certifications_with_regions(), **kwargs
        )


class StandardEditView(AssociationAccessMixin, FormView):
    template_name = "association/standards_edit.html"
    section = "listings"
    form_class = CategoryStandardForm
    request: AuthenticatedHttpRequest  # AssociationAccessMixin lets only signed-in staff in

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.category = Category.objects.filter(pk=kwargs["category_pk"]).first()
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.category is None:
            raise Http404
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.category is None:
            raise Http404
        return super().post(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        standard = CategoryStandard.objects.filter(category=self.category).first()
        if standard is None:
            return {"min_photos": 0}
        return {
            "required_fields": standard.required_fields,
            "min_photos": standard.min_photos,
            "notes": standard.notes,
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(category=self.category, **kwargs)

    def form_valid(self, form: CategoryStandardForm) -> HttpResponse:
        try:
            category_standard_set(
                category=self.category,
                required_fields=form.cleaned_data["required_fields"],
                min_photos=form.cleaned_data["min_photos"],
                notes=form.cleaned_data["notes"],
                actor=self.request.user,
            )
        except ListingReviewError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("The standard for “%(category)s” is saved.") % {"category": self.category.full_name},
        )
        return redirect(reverse("association:standards") + f"#category-{self.category.pk}")

    def form_invalid(self, form: CategoryStandardForm) -> HttpResponse:
        messages.error(self.request, _("Please correct the fields marked below."))
        return self.render_to_response(self.get_context_data(form=form), status=400)

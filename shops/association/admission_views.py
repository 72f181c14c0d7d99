"""Pages of shop admission: the public "open a shop" application at /open-a-shop/ with its private
status link, and in the workspace the applications queue, an application with its decisions, its
private photos, and the shops oversight (list, detail, suspend, reinstate, listing review)."""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView, TemplateView, View
from oscar.core.loading import get_model

from marketplace.security import APPLY_RATE, post_rate_limit
from marketplace.storefront.form_pages import PageFormAction
from shops.association import admission_selectors as selectors
from shops.association.access import AssociationAccessMixin
from shops.association.admission import (
    AdmissionError,
    application_approve,
    application_reject,
    application_request_changes,
    application_resubmit,
    application_submit,
)
from shops.association.admission_forms import (
    ApplicationFilterForm,
    ApplicationForm,
    RejectForm,
    RequestChangesForm,
    ShopFilterForm,
    ShopReasonForm,
    ShopReviewRequiredForm,
)
from shops.association.models import ApplicationPhoto, ShopApplication
from shops.association.shop_oversight import (
    ShopDecisionError,
    shop_reinstate,
    shop_review_required_set,
    shop_suspend,
)

Partner = get_model("partner", "Partner")


def _form_error(form: forms.Form, error: AdmissionError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


# --- public: the application and its private link -------------------------------------------------------


@post_rate_limit(APPLY_RATE)
class ApplyView(FormView):
    """开店申请: anyone may apply, no account needed."""

    template_name = "association/applications_open_a_shop.html"
    form_class = ApplicationForm

    def form_valid(self, form: ApplicationForm) -> HttpResponse:
        try:
            application = application_submit(
                details=form.details(),
                farm_photos=form.cleaned_data["farm_photos"],
                licence_photos=form.cleaned_data["licence_photos"],
            )
        except AdmissionError as error:
            _form_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _(
                "Thank you: your application has been received. "
                "We have emailed you the private link to this page."
            ),
        )
        return redirect("admission:status", token=application.token)

    def form_invalid(self, form: ApplicationForm) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class ApplicationStatusView(TemplateView):
    """The applicant's private page (/open-a-shop/<token>/): the status, the association's messages and,
    when changes were asked, the form to edit and send it again."""

    template_name = "association/applications_status.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            self.application = selectors.application_by_token(token=kwargs["token"])
        except ShopApplication.DoesNotExist:
            raise Http404 from None
        return super().dispatch(request, *args, **kwargs)

    @property
    def editable(self) -> bool:
        return self.application.status == ShopApplication.Status.CHANGES_REQUESTED

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.editable and "form" not in context:
            context["form"] = ApplicationForm(
                application=self.application, initial=ApplicationForm.initial_of(self.application)
            )
        events = list(self.application.events.all())
        context.update(
            application=self.application,
            request_message=next(
                (
                    e.message
                    for e in reversed(events)
                    if e.to_status == ShopApplication.Status.CHANGES_REQUESTED
                ),
                "",
            ),
            reject_reason=next(
                (e.message for e in reversed(events) if e.to_status == ShopApplication.Status.REJECTED), ""
            ),
            photo_counts={
                kind: sum(1 for p in self.application.photos.all() if p.kind == kind)
                for kind in ApplicationPhoto.Kind.values
            },
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.editable:
            messages.error(request, _("This application is not waiting for your changes."))
            return redirect("admission:status", token=self.application.token)
        form = ApplicationForm(request.POST, request.FILES, application=self.application)
        if form.is_valid():
            try:
                application_resubmit(
                    application_id=self.application.pk,
                    details=form.details(),
                    farm_photos=form.cleaned_data["farm_photos"],
                    licence_photos=form.cleaned_data["licence_photos"],
                )
            except AdmissionError as error:
                _form_error(form, error)
            else:
                messages.success(
                    request, _("Thank you: your changes have been sent to the shop association.")
                )
                return redirect("admission:status", token=self.application.token)
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- workspace: applications -------------------------------------------------------------------------------


class ApplicationListView(AssociationAccessMixin, ListView):
    template_name = "association/applications.html"
    section = "applications"
    paginate_by = 50
    context_object_name = "applications"

    def get_queryset(self) -> QuerySet[Any]:
        self.filter_form = ApplicationFilterForm(self.request.GET or None)
        status = self.filter_form.cleaned_data["status"] if self.filter_form.is_valid() else ""
        self.status = status
        return selectors.applications_list(status=status)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            filter_form=self.filter_form,
            chosen_status=self.status,
            filter_query=urlencode({"status": self.status}) if self.status else "",
            **kwargs,
        )


class ApplicationObjectMixin(AssociationAccessMixin):
    section = "applications"

    def application_load(self) -> ShopApplication:
        try:
            return selectors.application_detail(pk=self.kwargs["pk"])
        except ShopApplication.DoesNotExist:
            raise Http404 from None


class ApplicationDetailView(ApplicationObjectMixin, TemplateView):
    template_name = "association/applications_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        application = self.application_load()
        photos = list(application.photos.all())
        context = {
            "application": application,
            "farm_photos": [p for p in photos if p.kind == ApplicationPhoto.Kind.FARM],
            "licence_photos": [p for p in photos if p.kind == ApplicationPhoto.Kind.LICENCE],
            "can_decide": application.status == ShopApplication.Status.SUBMITTED,
            "changes_form": RequestChangesForm(),
            "reject_form": RejectForm(),
            **kwargs,
        }
        return super().get_context_data(**context)


class ApplicationDecisionView(PageFormAction, ApplicationDetailView):
    """POST only: one of the three decisions. Taken: back to the application with a message. Refused, the
    application's page again, with what was typed in the decision's form (approving has none: a message)."""

    http_method_names = ["get", "post"]  # a GET is sent to the application's page
    page_name = "association:application"
    form_class: type[forms.Form] | None = None
    form_name = ""

    def decide(self, *, application_id: int, form: forms.Form | None) -> str:
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        application = get_object_or_404(ShopApplication, pk=kwargs["pk"])
        back = HttpResponseRedirect(reverse("association:application", kwargs={"pk": application.pk}))
        form = self.form_class(request.POST) if self.form_class else None
        if form is not None and not form.is_valid():
            return self.form_invalid_page(form)
        try:
            done = self.decide(application_id=application.pk, form=form)
        except AdmissionError as error:
            if form is not None:
                return self.form_refused_page(form, error.message, field=error.field)
            messages.error(request, error.message)
            return back
        messages.success(request, done)
        return back


class ApplicationApproveView(ApplicationDecisionView):
    def decide(self, *, application_id: int, form: forms.Form | None) -> str:
        shop = application_approve(application_id=application_id, actor=self.request.user)
        return _("Approved: the shop “%(name)s” is open and the farmer has been emailed a sign-in link.") % {
            "name": shop.name
        }


class ApplicationRequestChangesView(ApplicationDecisionView):
    form_class = RequestChangesForm
    form_name = "changes_form"

    def decide(self, *, application_id: int, form: forms.Form | None) -> str:
        application_request_changes(
            application_id=application_id, actor=self.request.user, message=form.cleaned_data["message"]
        )
        return _("Changes requested: the applicant has been emailed your message.")


class ApplicationRejectView(ApplicationDecisionView):
    form_class = RejectForm
    form_name = "reject_form"

    def decide(self, *, application_id: int, form: forms.Form | None) -> str:
        application_reject(
            application_id=application_id, actor=self.request.user, reason=form.cleaned_data["reason"]
        )
        return _("Rejected: the applicant has been emailed the reason.")


class ApplicationPhotoView(AssociationAccessMixin, View):
    """An application's photo (licences are personal data): members only, never cached by others."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        photo = get_object_or_404(ApplicationPhoto, pk=kwargs["photo_pk"], application_id=kwargs["pk"])
        try:
            handle = photo.image.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# --- workspace: shops oversight -----------------------------------------------------------------------------


class ShopListView(AssociationAccessMixin, ListView):
    template_name = "association/shops.html"
    section = "shops"
    paginate_by = 50
    context_object_name = "shops"

    def get_queryset(self) -> QuerySet[Any]:
        self.counties = selectors.shop_counties()
        self.filter_form = ShopFilterForm(self.request.GET or None, counties=self.counties)
        data = self.filter_form.cleaned_data if self.filter_form.is_valid() else {}
        return selectors.shops_list(
            status=data.get("status") or "", county_id=data.get("county"), query=(data.get("q") or "").strip()
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            filter_form=self.filter_form, filter_query=query.urlencode(), **kwargs
        )


class ShopObjectMixin(AssociationAccessMixin):
    section = "shops"


class ShopDetailView(ShopObjectMixin, TemplateView):
    template_name = "association/shops_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        try:
            shop = selectors.shop_detail(pk=self.kwargs["pk"])
        except Partner.DoesNotExist:
            raise Http404 from None
        kwargs.setdefault("reason_form", ShopReasonForm())  # to suspend
        kwargs.setdefault("reinstate_form", ShopReasonForm())
        kwargs.setdefault(
            "review_form", ShopReviewRequiredForm(initial={"required": shop.listing_review_required})
        )
        return super().get_context_data(
            shop=shop,
            status_events=shop.status_events.all(),
            audit=selectors.shop_audit_trail(shop),
            # A shop from the demo data or Oscar's dashboard has no application.
            application=getattr(shop, "application", None),
            **kwargs,
        )


class ShopDecisionView(PageFormAction, ShopDetailView):
    """POST only: a decision on the shop. Taken: back to the shop with a message. Refused, the shop's page
    again, with what was typed in the decision's form."""

    http_method_names = ["get", "post"]  # a GET is sent to the shop's page
    page_name = "association:shop"
    form_class: type[forms.Form] = ShopReasonForm
    form_name = "reason_form"

    def decide(self, *, shop_id: int, form: forms.Form) -> str:
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        shop = get_object_or_404(Partner, pk=kwargs["pk"])
        form = self.form_class(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            done = self.decide(shop_id=shop.pk, form=form)
        except ShopDecisionError as error:
            return self.form_refused_page(form, str(error))
        messages.success(request, done)
        return HttpResponseRedirect(reverse("association:shop", kwargs={"pk": shop.pk}))


class ShopSuspendView(ShopDecisionView):
    def decide(self, *, shop_id: int, form: forms.Form) -> str:
        shop_suspend(shop_id=shop_id, actor=self.request.user, reason=form.cleaned_data["reason"])
        return _("The shop is suspended: its products have left the market. Its open orders carry on.")


class ShopReinstateView(ShopDecisionView):
    form_name = "reinstate_form"

    def decide(self, *, shop_id: int, form: forms.Form) -> str:
        shop_reinstate(shop_id=shop_id, actor=self.request.user, reason=form.cleaned_data["reason"])
        return _("The shop is reinstated: its live products are back in the market.")


class ShopReviewRequiredView(ShopDecisionView):
    form_class = ShopReviewRequiredForm
    form_name = "review_form"

    def decide(self, *, shop_id: int, form: forms.Form) -> str:
        shop = shop_review_required_set(
            shop_id=shop_id,
            actor=self.request.user,
            required=form.cleaned_data["required"],
            reason=form.cleaned_data["reason"],
        )
        if shop.listing_review_required:
            return _("The shop's new listings now wait for review.")
        return _("The shop's new listings now go live without review.")

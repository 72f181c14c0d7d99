"""The partner portal's pages. Thin: they read through ``logistics.partner_selectors``, write through
``logistics.tracking`` and ``logistics.routing`` (the same services as the API) and say what happened
with a message.

Every view derives from ``PartnerPortalMixin``: the signed-in user must work for a logistics partner (else
a 403 page that says so); the partner a page is about is the one chosen in the session, never one named in
the URL, and legs are looked up within it, so another partner's leg is 404."""

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from logistics.models import Consignment, Leg, TrackingEvent
from logistics.partner_selectors import partner_leg, portal_leg_groups, user_partners
from logistics.portal.forms import LegRejectForm, TrackingEventForm
from logistics.routing import RoutingError, leg_reject
from logistics.selectors import leg_temperature_summary
from logistics.tracking import TrackingError, leg_accept, tracking_event_record
from marketplace.storefront.form_pages import PageFormAction
from marketplace.storefront.workspace import ForbiddenPage, workspace_forbidden

SESSION_KEY = "logistics_partner_id"

GROUP_LABELS = {
    "to_accept": gettext_lazy("To accept"),
    "to_pick_up": gettext_lazy("To pick up"),
    "in_progress": gettext_lazy("On the way"),
    "done": gettext_lazy("Done"),
}
GROUP_EMPTY = {
    "to_accept": gettext_lazy("Nothing waiting for you to accept."),
    "to_pick_up": gettext_lazy("Nothing to pick up."),
    "in_progress": gettext_lazy("No parcels on the way."),
    "done": gettext_lazy("Nothing done yet."),
}
# What each kind of leg usually reports, in order: the form suggests the first one not reported yet.
USUAL_EVENTS = {
    Leg.Kind.FIRST_MILE: ["picked_up", "delivered"],
    Leg.Kind.HUB: ["arrived_at_hub", "departed", "delivered"],
    Leg.Kind.CARRIER: ["picked_up", "departed", "out_for_delivery", "delivered"],
}
EVENT_STATUSES = (Leg.Status.ACCEPTED, Leg.Status.IN_PROGRESS, Leg.Status.EXCEPTION)
REJECT_STATUSES = (Leg.Status.ASSIGNED, Leg.Status.ACCEPTED)


class PartnerPortalMixin(LoginRequiredMixin):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.partners = user_partners(request.user)
        if not self.partners:
            return workspace_forbidden(
                request,
                ForbiddenPage(
                    workspace=_("Partner portal"),
                    title=_("Not a logistics partner"),
                    heading=_("Your account belongs to no logistics partner"),
                    paragraphs=[
                        _(
                            "You are signed in as %(email)s, but this account does not work for any "
                            "logistics partner of the market."
                        )
                        % {"email": request.user.email},
                        _(
                            "If your service point, hub or carrier already works with the market, ask the "
                            "association to add this account to it."
                        ),
                    ],
                    testid="no-partner",
                    sign_out=True,
                    workspace_class="portal",
                    stylesheet="logistics/portal.css",
                ),
            )
        chosen = request.session.get(SESSION_KEY)
        self.partner = next((p for p in self.partners if p.pk == chosen), self.partners[0])
        self.objects_load()  # before the method is looked at: another partner's leg is 404 for GET and POST
        return super().dispatch(request, *args, **kwargs)

    def objects_load(self) -> None:
        """Look up the objects named in the URL within ``self.partner``; raise Http404 if not its."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(partner=self.partner, partners=self.partners)
        return context


class HomeView(PartnerPortalMixin, TemplateView):
    template_name = "logistics/portal/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["groups"] = [
            {
                "key": group.key,
                "label": GROUP_LABELS[group.key],
                "empty": GROUP_EMPTY[group.key],
                "legs": group.legs,
            }
            for group in portal_leg_groups(partner=self.partner)
        ]
        return context


class PartnerSwitchView(PartnerPortalMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            partner_id = int(request.POST.get("partner", ""))
        except ValueError:
            raise Http404 from None
        partner = next((p for p in self.partners if p.pk == partner_id), None)
        if partner is None:
            raise Http404
        request.session[SESSION_KEY] = partner.pk
        messages.success(request, _("Now working for %(partner)s.") % {"partner": partner.display_name})
        return redirect("logistics_portal:home")


class LegObjectMixin(PartnerPortalMixin):
    def objects_load(self) -> None:
        try:
            self.leg = partner_leg(partner=self.partner, leg_id=self.kwargs["pk"])
        except Leg.DoesNotExist:
            raise Http404 from None
        self.number = self.leg.consignment.shop_order.number


class LegView(LegObjectMixin, TemplateView):
    template_name = "logistics/portal/leg.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        leg = self.leg
        events = list(leg.events.all())
        context.update(
            leg=leg,
            shop_order=leg.consignment.shop_order,
            address=(
                leg.consignment.shop_order.order.shipping_address if leg.kind == Leg.Kind.CARRIER else None
            ),
            events=events,
            can_accept=leg.status == Leg.Status.ASSIGNED,
            can_reject=leg.status in REJECT_STATUSES,
            can_report=leg.status in EVENT_STATUSES,
            # Chilled or frozen goods, or a leg flagged out of its band (two more queries then).
            temperatures=(
                leg_temperature_summary(leg)
                if leg.consignment.needs_cold_chain or leg.cold_chain_breach_at
                else None
            ),
        )
        context.setdefault("reject_form", LegRejectForm())
        context.setdefault(
            "event_form", TrackingEventForm(leg_kind=leg.kind, initial={"kind": _suggested_kind(leg, events)})
        )
        return context


def _suggested_kind(leg: Leg, events: Iterable[TrackingEvent]) -> str:
    reported = {event.kind for event in events}
    usual = USUAL_EVENTS[leg.kind]
    return next((kind for kind in usual if kind not in reported), usual[-1])


class LegActionView(LegObjectMixin, View):
    """POST-only moves of one leg; a refused move says why and changes nothing."""

    def done(self, message: str, level: int = messages.SUCCESS) -> HttpResponse:
        messages.add_message(self.request, level, message)
        return redirect("logistics_portal:leg", pk=self.leg.pk)

    def refused(self, message: str) -> HttpResponse:
        return self.done(message, messages.ERROR)


class LegAcceptView(LegActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            leg_accept(leg_id=self.leg.pk, partner=self.partner, actor=request.user)
        except TrackingError as error:
            return self.refused(str(error))
        return self.done(
            _("Accepted. Pick up order %(number)s on %(day)s.")
            % {"number": self.number, "day": self.leg.day.isoformat()}
        )


class LegFormAction(PageFormAction, LegActionView, LegView):
    """A move the partner types something for: refused input is answered with the leg's page."""

    page_name = "logistics_portal:leg"


class LegRejectView(LegFormAction):
    form_name = "reject_form"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = LegRejectForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            consignment = leg_reject(
                leg_id=self.leg.pk,
                partner=self.partner,
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except RoutingError:
            return self.form_refused_page(
                form, _("This leg can no longer be rejected: the parcel is already on its way.")
            )
        if consignment.status == Consignment.Status.ROUTED:
            message = _("Rejected. Order %(number)s goes to another partner; the shop is told.")
        else:
            message = _(
                "Rejected. No other partner can take order %(number)s; the association will route it."
            )
        messages.success(request, message % {"number": self.number})
        return redirect("logistics_portal:home")


class LegEventView(LegFormAction):
    form_name = "event_form"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = TrackingEventForm(request.POST, leg_kind=self.leg.kind)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            event, created = tracking_event_record(
                leg=self.leg,
                kind=form.cleaned_data["kind"],
                occurred_at=timezone.now(),
                note=form.cleaned_data["note"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                actor=request.user,
            )
        except TrackingError as error:
            return self.form_refused_page(form, _("Not recorded: %(errors)s") % {"errors": error})
        if not created:
            return self.done(_("That was recorded already."), messages.INFO)
        return self.done(
            _("Recorded “%(event)s” for order %(number)s. The buyer is told.")
            % {"event": event.label, "number": self.number}
        )

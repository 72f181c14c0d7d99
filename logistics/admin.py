"""The association's logistics back office (until its own workspace): partners with their areas and prices,
consignments with the reasons routing recorded, routing again, and routing by hand among the candidates."""

from dataclasses import asdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from logistics.models import (
    Consignment,
    ConsignmentEvent,
    Leg,
    LegEvent,
    LegTemperatureReading,
    LogisticsPartner,
    PartnerToken,
    PriceRule,
    ServiceArea,
    TemperatureLogger,
    TrackingEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
)
from logistics.operations import consignments_stuck_route
from logistics.routing import RoutingError, consignment_candidates, consignment_route
from logistics.routing_index import routing_index_invalidate
from logistics.selectors import leg_temperature_summary
from logistics.webhooks import partner_webhook_secret_issue
from marketplace.admin_readonly import ReadOnlyModelAdmin


class ServiceAreaInline(admin.TabularInline):
    model = ServiceArea
    raw_id_fields = ["region"]
    extra = 0


class PriceRuleInline(admin.TabularInline):
    model = PriceRule
    raw_id_fields = ["zone"]
    extra = 0


@admin.register(LogisticsPartner)
class LogisticsPartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "cold_chain", "daily_capacity", "max_parcel_weight_g", "active"]
    list_filter = ["kind", "cold_chain", "active"]
    search_fields = ["name", "name_en", "code"]
    filter_horizontal = ["users"]
    inlines = [ServiceAreaInline, PriceRuleInline]
    exclude = ["webhook_secret"]
    actions = ["webhook_secret_issue"]

    @admin.action(description=gettext_lazy("Issue a new webhook secret (shown once)"))
    def webhook_secret_issue(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for partner in queryset:
            secret = partner_webhook_secret_issue(partner=partner)
            messages.warning(
                request,
                _("Webhook secret of %(partner)s, shown this once: %(secret)s")
                % {"partner": partner.code, "secret": secret},
            )

    # Routing works from an in-memory index of partners, areas and prices: every change here renews it.
    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[forms.BaseFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        routing_index_invalidate()

    def delete_model(self, request: HttpRequest, obj: LogisticsPartner) -> None:
        super().delete_model(request, obj)
        routing_index_invalidate()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LogisticsPartner]) -> None:
        super().delete_queryset(request, queryset)
        routing_index_invalidate()


class LegInline(admin.TabularInline):
    model = Leg
    fields = [
        "sequence",
        "kind",
        "partner",
        "status",
        "day",
        "cost",
        "promised_days",
        "overdue_since",
        "cold_chain_breach_at",
        "temperatures",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("Temperatures"))
    def temperatures(self, obj: Leg) -> str:
        summary = leg_temperature_summary(obj)
        if not summary.readings_count:
            return _("no readings (band %(band)s)") % {"band": summary.band_label}
        return _("%(count)d readings, %(low)s … %(high)s °C (band %(band)s)") % {
            "count": summary.readings_count,
            "low": summary.min,
            "high": summary.max,
            "band": summary.band_label,
        }

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ConsignmentEventInline(admin.TabularInline):
    """The consignment's status moves, as ``logistics.states.consignment_move`` recorded them."""

    model = ConsignmentEvent
    fields = ["created_at", "from_status", "to_status", "actor", "partner", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ManualRouteForm(forms.Form):
    """One select per leg, offering the candidates eligible now (the others are listed with their reason)."""

    def __init__(self, *args: Any, legs: list[dict], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for leg in legs:
            choices = [
                (c["partner_id"], f"{c['partner']} · ¥{c['cost']} · {c['days']}d")
                for c in leg["candidates"]
                if not c["excluded"]
            ]
            self.fields[leg["kind"]] = forms.TypedChoiceField(
                label=leg["kind"],
                choices=[("", "— automatic —"), *choices],
                coerce=int,
                required=False,
                empty_value=None,
            )


@admin.register(Consignment)
class ConsignmentAdmin(admin.ModelAdmin):
    list_display = [
        "shop_order",
        "status",
        "planned_for",
        "needs_cold_chain",
        "weight_g",
        "short_reason",
        "route",
    ]
    list_filter = ["status", "needs_cold_chain", "planned_for"]
    search_fields = ["shop_order__number"]
    readonly_fields = [
        "shop_order",
        "status",
        "planned_for",
        "needs_cold_chain",
        "weight_g",
        "origin",
        "destination",
        "reason",
        "decisions",
    ]
    inlines = [LegInline, ConsignmentEventInline]
    actions = ["route_again"]

    @admin.display(description=gettext_lazy("Why it needs routing"))
    def short_reason(self, obj: ConsignmentEvent) -> str:
        return obj.reason[:120]

    @admin.display(description=gettext_lazy("Route"))
    def route(self, obj: Consignment) -> str:
        if obj.status != Consignment.Status.NEEDS_ROUTING:
            return ""
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:logistics_consignment_route", args=[obj.pk]),
            _("Route by hand"),
        )

    @admin.action(description=gettext_lazy("Route again (those that need routing)"))
    def route_again(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done = 0
        for consignment in queryset.filter(status=Consignment.Status.NEEDS_ROUTING):
            try:
                done += (
                    consignment_route(shop_order_id=consignment.shop_order_id, actor=request.user).status
                    == "routed"
                )
            except RoutingError as error:
                messages.error(request, str(error))
        messages.info(request, _("%(done)d routed; the others still need routing.") % {"done": done})

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            path(
                "<int:pk>/route/",
                self.admin_site.admin_view(self.route_by_hand),
                name="logistics_consignment_route",
            ),
            path(
                "route-stuck/",
                self.admin_site.admin_view(self.route_stuck),
                name="logistics_consignment_route_stuck",
            ),
            *super().get_urls(),
        ]

    def route_by_hand(self, request: HttpRequest, pk: int) -> HttpResponse:
        consignment = get_object_or_404(Consignment, pk=pk)
        if not self.has_change_permission(request, consignment):
            return redirect("admin:index")
        legs = [asdict(plan) for plan in consignment_candidates(shop_order_id=consignment.shop_order_id)]
        form = ManualRouteForm(request.POST or None, legs=legs)
        if request.method == "POST" and form.is_valid():
            forced = {kind: partner for kind, partner in form.cleaned_data.items() if partner}
            try:
                result = consignment_route(
                    shop_order_id=consignment.shop_order_id, forced=forced, actor=request.user
                )
            except RoutingError as error:
                messages.error(request, str(error))
            else:
                if result.status == Consignment.Status.ROUTED:
                    messages.success(request, _("Routed."))
                    return redirect("admin:logistics_consignment_change", pk)
                messages.error(request, _("Still no route: %(reason)s") % {"reason": result.reason})
        context = {
            **self.admin_site.each_context(request),
            "consignment": consignment,
            "form": form,
            "legs": legs,
            "opts": self.model._meta,
            "title": _("Route by hand"),
        }
        return TemplateResponse(request, "admin/logistics/route_by_hand.html", context)

    def route_stuck(self, request: HttpRequest) -> HttpResponse:
        outcome = consignments_stuck_route()
        messages.info(
            request, ", ".join(f"{k}: {v}" for k, v in sorted(outcome.items())) or _("Nothing stuck.")
        )
        return redirect("admin:logistics_consignment_changelist")


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ["leg", "kind", "occurred_at", "recorded_at", "note"]
    list_filter = ["kind"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(LegEvent)
class LegEventAdmin(ReadOnlyModelAdmin):
    """The legs' status moves, as ``logistics.states.leg_move`` recorded them."""

    list_display = ["created_at", "leg", "from_status", "to_status", "partner", "actor", "reason"]
    list_filter = ["to_status"]
    list_select_related = ["leg", "partner", "actor"]
    search_fields = ["leg__consignment__shop_order__number"]
    raw_id_fields = ["leg", "actor", "partner"]


@admin.register(PartnerToken)
class PartnerTokenAdmin(admin.ModelAdmin):
    """API tokens: made with `manage.py logistics_token_issue` (the key is shown once); revoked here."""

    list_display = ["partner", "label", "created_at", "revoked"]
    list_filter = ["revoked", "partner"]
    readonly_fields = ["partner", "digest", "label", "created_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=gettext_lazy("Revoke"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        revoked = queryset.update(revoked=True)
        messages.info(request, _("%(count)d token(s) revoked.") % {"count": revoked})


class WebhookDeliveryAttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    fields = ["sent_at", "response_code", "duration_ms", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    """Webhook deliveries to the partners (``logistics.webhooks``); partners replay theirs in the portal."""

    list_display = ["created_at", "partner", "event", "status", "leg", "replay_of"]
    list_filter = ["status", "event", "partner"]
    list_select_related = ["partner"]
    raw_id_fields = ["leg", "replay_of", "payload"]
    inlines = [WebhookDeliveryAttemptInline]


@admin.register(TemperatureLogger)
class TemperatureLoggerAdmin(admin.ModelAdmin):
    """Truck loggers reporting over MQTT (``coldchain/<logger id>/readings``), signing with their secret."""

    list_display = ["logger_id", "partner", "active", "created_at"]
    list_filter = ["active", "partner"]
    search_fields = ["logger_id"]


@admin.register(LegTemperatureReading)
class LegTemperatureReadingAdmin(ReadOnlyModelAdmin):
    list_display = ["measured_at", "leg", "celsius", "source", "logger_id", "recorded_at"]
    list_filter = ["source"]
    raw_id_fields = ["leg"]
    search_fields = ["leg__consignment__shop_order__number", "logger_id"]

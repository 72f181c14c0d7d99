"""The console's orchard pages: the shop's plots, a plot's sensor charts (7 or 30 days, from the roll-ups),
its devices (a secret shown once when added or rotated), alert rules (frost, drought, heat or the farmer's
own) and the shop's alerts. Plots, devices, rules and alerts named in a URL are looked up within the
console's shop, so another shop's id is 404 (tests/shops/console/test_console_isolation.py)."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from shops.console.access import ShopConsoleMixin
from shops.console.once import SubmitOnce
from shops.orchard import selectors
from shops.orchard.charts import metric_chart_svg
from shops.orchard.forms import AlertRuleForm, DeviceForm, PlotForm
from shops.orchard.ingest import SUBSCRIPTION, topic_for
from shops.orchard.metrics import BY_CODE
from shops.orchard.models import Alert, AlertRule, Device, Plot
from shops.orchard.services import (
    OrchardError,
    alert_acknowledge,
    alert_rule_add,
    alert_rule_delete,
    device_add,
    device_secret_rotate,
    plot_save,
)

SECTION = "orchard"


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", selectors.CHART_DAYS[0]))
    except ValueError:
        days = selectors.CHART_DAYS[0]
    return days if days in selectors.CHART_DAYS else selectors.CHART_DAYS[0]


class PlotObjectMixin(ShopConsoleMixin):
    kwargs: dict[str, Any]

    def objects_load(self) -> None:
        try:
            self.plot = selectors.console_plot(shop=self.shop, plot_id=self.kwargs["plot"])
        except Plot.DoesNotExist:
            raise Http404 from None


class PlotListView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/orchard/plots.html"
    section = SECTION

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        plots = list(selectors.console_plots(shop=self.shop))
        return super().get_context_data(
            plots=plots,
            open_alerts=sum(plot.open_alerts for plot in plots),  # type: ignore[attr-defined]  # annotated
            **kwargs,
        )


class PlotFormView(ShopConsoleMixin, FormView):
    form_class = PlotForm
    template_name = "shops/console/orchard/plot_form.html"
    section = SECTION
    plot: Plot | None = None  # a new plot; PlotEditView loads the one named in the URL

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": self.plot}

    def form_valid(self, form: PlotForm) -> HttpResponse:
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if self.plot is None:
            data["village"] = self.shop.village
        try:
            plot = plot_save(shop=self.shop, plot=self.plot, data=data)
        except OrchardError as error:
            form.add_error("name", str(error))
            return self.form_invalid(form)
        messages.success(self.request, _("Plot “%(name)s” saved.") % {"name": plot.name})
        return redirect("console:orchard-plot", plot=plot.pk)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(plot=self.plot, **kwargs)


class PlotCreateView(SubmitOnce, PlotFormView):
    pass


class PlotEditView(PlotObjectMixin, PlotFormView):  # type: ignore[misc]  # the plot, loaded, is never None
    pass


class PlotDetailView(PlotObjectMixin, TemplateView):
    template_name = "shops/console/orchard/plot.html"
    section = SECTION

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.pop("plot", None)  # the URL's id: the context gets the plot itself
        days = _days(self.request)
        return super().get_context_data(
            plot=self.plot,
            days=days,
            day_choices=selectors.CHART_DAYS,
            summaries=selectors.plot_summaries(plot=self.plot, days=days),
            devices=selectors.plot_devices(plot=self.plot),
            rules=selectors.plot_rules(plot=self.plot),
            **kwargs,
        )


class PlotChartView(PlotObjectMixin, View):
    """One metric's chart as SVG (its own URL, so drawing it does not slow the page down)."""

    def get(self, request: HttpRequest, plot: int, metric: str) -> HttpResponse:
        chosen = BY_CODE.get(metric)
        if chosen is None:
            raise Http404
        days = _days(request)
        svg = metric_chart_svg(
            metric=chosen,
            points=selectors.plot_series(plot=self.plot, metric=chosen, days=days),
            thresholds=[
                rule.threshold
                for rule in selectors.plot_rules(plot=self.plot)
                if rule.metric == chosen.number
            ],
            title=str(chosen.label),
            empty=_("No readings in these days."),
        )
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Cache-Control"] = "private, max-age=300"
        return response


def _secret_page(request: HttpRequest, view: ShopConsoleMixin, device: Device, rotated: bool) -> HttpResponse:
    """The only time the device's secret is shown: never stored in a page cache or the browser's."""
    context = view.get_context_data(
        device=device,
        rotated=rotated,
        topic=topic_for(device.device_id),
        subscription=SUBSCRIPTION,
        broker=settings.ORCHARD_MQTT_BROKER,
        grace_hours=settings.ORCHARD_SECRET_GRACE_HOURS,
    )
    response = view.response_class(  # type: ignore[attr-defined]
        request=request, template=["shops/console/orchard/device_secret.html"], context=context
    )
    response["Cache-Control"] = "no-store"
    return response


class DeviceCreateView(PlotObjectMixin, FormView):
    form_class = DeviceForm
    template_name = "shops/console/orchard/device_form.html"
    section = SECTION

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.pop("plot", None)
        return super().get_context_data(plot=self.plot, **kwargs)

    def form_valid(self, form: DeviceForm) -> HttpResponse:
        try:
            device = device_add(
                plot=self.plot, device_id=form.cleaned_data["device_id"], kind=form.cleaned_data["kind"]
            )
        except OrchardError as error:
            form.add_error("device_id", str(error))
            return self.form_invalid(form)
        return _secret_page(self.request, self, device, rotated=False)


class DeviceRotateView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/orchard/device_secret.html"
    section = SECTION
    http_method_names = ["post"]

    def objects_load(self) -> None:
        try:
            self.device = selectors.console_device(shop=self.shop, device_id=self.kwargs["device"])
        except Device.DoesNotExist:
            raise Http404 from None

    def post(self, request: HttpRequest, device: int) -> HttpResponse:
        return _secret_page(request, self, device_secret_rotate(device=self.device), rotated=True)


class RuleListView(SubmitOnce, PlotObjectMixin, FormView):
    """The plot's alert rules, and the form to add one."""

    form_class = AlertRuleForm
    template_name = "shops/console/orchard/rules.html"
    section = SECTION

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.pop("plot", None)
        return super().get_context_data(plot=self.plot, rules=selectors.plot_rules(plot=self.plot), **kwargs)

    def form_valid(self, form: AlertRuleForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            rule = alert_rule_add(
                plot=self.plot,
                preset=data["preset"],
                name=data.get("name") or "",
                metric=data.get("metric") or 0,
                direction=data.get("direction") or "",
                threshold=data.get("threshold") or 0.0,
            )
        except OrchardError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, _("Alert rule “%(name)s” added.") % {"name": rule.name})
        return redirect("console:orchard-rules", plot=self.plot.pk)


class RuleDeleteView(ShopConsoleMixin, View):
    def objects_load(self) -> None:
        try:
            self.rule = selectors.console_rule(shop=self.shop, rule_id=self.kwargs["rule"])
        except AlertRule.DoesNotExist:
            raise Http404 from None

    def post(self, request: HttpRequest, rule: int) -> HttpResponse:
        plot_id = self.rule.plot_id
        alert_rule_delete(rule=self.rule)
        messages.success(request, _("Alert rule deleted."))
        return redirect("console:orchard-rules", plot=plot_id)


class AlertListView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/orchard/alerts.html"
    section = SECTION

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(alerts=selectors.shop_alerts(shop=self.shop), **kwargs)


class AlertAcknowledgeView(ShopConsoleMixin, View):
    def objects_load(self) -> None:
        try:
            self.alert = selectors.console_alert(shop=self.shop, alert_id=self.kwargs["alert"])
        except Alert.DoesNotExist:
            raise Http404 from None

    def post(self, request: HttpRequest, alert: int) -> HttpResponse:
        if alert_acknowledge(alert=self.alert, user=request.user):  # type: ignore[arg-type]  # signed in
            messages.success(request, _("Alert acknowledged."))
        return redirect("console:orchard-alerts")

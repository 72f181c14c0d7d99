"""Forms of the console's orchard pages: a plot, a device, an alert rule."""

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from shops.orchard.metrics import BY_NUMBER, MetricChoice
from shops.orchard.models import AlertRule, Device, Plot
from shops.orchard.services import RULE_PRESETS

DEVICE_ID = RegexValidator(
    r"^[A-Za-z0-9_-]{3,40}$", _("3 to 40 letters, digits, dashes or underscores, as printed on the device.")
)


class PlotForm(forms.ModelForm):
    class Meta:
        model = Plot
        fields = ["name", "name_en", "crop", "area_mu", "altitude_m"]


class DeviceForm(forms.Form):
    device_id = forms.CharField(label=_("Device ID"), max_length=40, validators=[DEVICE_ID])
    kind = forms.ChoiceField(label=_("Kind"), choices=Device.Kind.choices, initial=Device.Kind.COMBINED)


class AlertRuleForm(forms.Form):
    """A preset (frost, drought, heat), or a rule of the farmer's own when no preset is chosen."""

    preset = forms.ChoiceField(
        label=_("Preset"),
        required=False,
        choices=[("", _("My own rule (below)")), *((p.key, p.name) for p in RULE_PRESETS)],
    )
    name = forms.CharField(label=_("Name"), max_length=40, required=False)
    metric = forms.TypedChoiceField(
        label=_("Measurement"), choices=MetricChoice.choices, coerce=int, required=False
    )
    direction = forms.ChoiceField(label=_("When"), choices=AlertRule.Direction.choices, required=False)
    threshold = forms.FloatField(label=_("Threshold"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("preset"):
            return data
        for name in ("name", "metric", "direction", "threshold"):
            if data.get(name) in (None, ""):
                self.add_error(name, _("Needed for a rule of your own."))
        metric, threshold = data.get("metric"), data.get("threshold")
        if metric and threshold is not None:
            limits = BY_NUMBER[metric]
            if not limits.low <= threshold <= limits.high:
                self.add_error(
                    "threshold",
                    _("Between %(low)s and %(high)s %(unit)s.")
                    % {"low": f"{limits.low:g}", "high": f"{limits.high:g}", "unit": limits.unit},
                )
        return data

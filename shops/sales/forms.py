"""The sales review's choosers: the period, the filters and the breakdown. A value that does not make
sense is dropped with a message saying so, and its default is used instead: the page never fails on a
hand-edited address."""

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace import periods
from shops.sales.selectors import DIMENSIONS, SHOP, Choices, SalesFilters


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=periods.KINDS, required=False)
    on = forms.DateField(label=_("Date in the period"), required=False)
    start = forms.DateField(label=_("From (custom)"), required=False)
    end = forms.DateField(label=_("To (custom)"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == periods.CUSTOM:
            start, end = data.get("start"), data.get("end")
            outside = [d for d in (start, end) if d and not periods.FIRST_DAY <= d <= periods.LAST_DAY]
            if start is None or end is None:
                self.add_error("start", _("Give both the first and the last day of a custom range."))
            elif outside:
                self.add_error(
                    "start",
                    _("Days from %(first)s to %(last)s only.")
                    % {"first": periods.FIRST_DAY.isoformat(), "last": periods.LAST_DAY.isoformat()},
                )
            elif start > end:
                self.add_error("end", _("The last day must not be before the first."))
            elif (end - start).days >= periods.LONGEST_CUSTOM_DAYS:
                self.add_error(
                    "end",
                    _("A custom range is at most %(days)s days.") % {"days": periods.LONGEST_CUSTOM_DAYS},
                )
        return data

    def problems(self) -> list[str]:
        """One message per value that was dropped."""
        self.is_valid()
        return [
            _("%(field)s: %(error)s The default is shown instead.")
            % {"field": self.fields[name].label if name in self.fields else name, "error": " ".join(errors)}
            for name, errors in self.errors.items()
        ]


def _chosen(form: forms.Form, name: str) -> object:
    """A field's clean value, or None when it was wrong (its error is reported by ``problems``)."""
    return form.cleaned_data.get(name) if name not in form.errors else None


def period_from(form: PeriodForm) -> periods.Period:
    """The period the form asks for; the month of today for anything missing or wrong."""
    form.is_valid()
    kind = _chosen(form, "period") or periods.MONTH
    if kind == periods.CUSTOM:
        start, end = _chosen(form, "start"), _chosen(form, "end")
        if start and end:
            return periods.custom_period(start, end)
        kind = periods.MONTH
    on = _chosen(form, "on") or timezone.localdate()
    if not periods.FIRST_DAY <= on <= periods.LAST_DAY:
        on = timezone.localdate()
    return periods.period_of(kind, on)


class SalesFilterForm(PeriodForm):
    county = forms.TypedChoiceField(label=_("County"), coerce=int, required=False, empty_value=None)
    town = forms.TypedChoiceField(label=_("Town"), coerce=int, required=False, empty_value=None)
    village = forms.TypedChoiceField(label=_("Village"), coerce=int, required=False, empty_value=None)
    shop = forms.TypedChoiceField(label=_("Shop"), coerce=int, required=False, empty_value=None)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False, empty_value=None)
    dimension = forms.ChoiceField(label=_("Break down by"), choices=DIMENSIONS, required=False)

    def __init__(self, *args: Any, choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["county"].choices = everything + [(str(r.pk), r.display_name) for r in choices.counties]
        self.fields["town"].choices = everything + [(str(r.pk), r.display_name) for r in choices.towns]
        self.fields["village"].choices = everything + [(str(r.pk), r.display_name) for r in choices.villages]
        self.fields["shop"].choices = everything + [(str(s.pk), s.display_name) for s in choices.shops]
        self.fields["category"].choices = everything + [(str(c.pk), c.path_name) for c in choices.categories]

    def filters(self) -> SalesFilters:
        self.is_valid()
        return SalesFilters(
            county_id=_chosen(self, "county"),
            town_id=_chosen(self, "town"),
            village_id=_chosen(self, "village"),
            shop_id=_chosen(self, "shop"),
            category_id=_chosen(self, "category"),
        )

    def chosen_dimension(self) -> str:
        self.is_valid()
        return _chosen(self, "dimension") or SHOP

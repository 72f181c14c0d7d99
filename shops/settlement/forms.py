"""The settlement's forms (the association's workspace)."""

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.form_fields import BoundedModelChoiceField
from shops.settlement.models import Statement

Category = get_model("catalogue", "Category")
Partner = get_model("partner", "Partner")


class MonthField(forms.CharField):
    """A calendar month typed as YYYY-MM (the browser's month picker), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-03"})

    def to_python(self, value: str | None) -> datetime.date | None:  # type: ignore[override]  # cleans to a day
        value = super().to_python(value).strip()  # type: ignore[union-attr]  # CharField gives "" for no value
        if not value:
            return None
        try:
            return datetime.date.fromisoformat(f"{value[:7]}-01")
        except ValueError as error:
            raise forms.ValidationError(_("Give a month as YYYY-MM.")) from error


class StatementFilterForm(forms.Form):
    month = MonthField(label=_("Month"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Statement.Status.choices]
    )
    q = forms.CharField(label=_("Shop"), required=False, max_length=100)


class GenerateForm(forms.Form):
    month = MonthField(label=_("Month"))


class CommissionRuleForm(forms.Form):
    percent = forms.DecimalField(
        label=_("Commission (%)"), min_value=Decimal("0"), max_value=Decimal("100"), decimal_places=2
    )
    category = BoundedModelChoiceField(
        label=_("Category"),
        required=False,
        queryset=Category.objects.order_by("path"),
        empty_label=_("All categories"),
    )
    shop = BoundedModelChoiceField(
        label=_("Shop"),
        required=False,
        queryset=Partner.objects.order_by("name"),
        empty_label=_("All shops"),
    )
    effective_from = forms.DateField(
        label=_("In force from"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    effective_to = forms.DateField(
        label=_("In force until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].label_from_instance = lambda c: "— " * (c.depth - 1) + c.display_name  # type: ignore[attr-defined]


class RuleEndForm(forms.Form):
    last_day = forms.DateField(label=_("Last day in force"), widget=forms.DateInput(attrs={"type": "date"}))


class PayForm(forms.Form):
    reference = forms.CharField(label=_("Bank payment reference"), required=False, max_length=255)


class CorrectionForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (¥, − if owed by the shop)"), decimal_places=2, max_digits=12)
    description = forms.CharField(label=_("What it corrects"), max_length=255)


class PayoutAccountForm(forms.Form):
    stripe_account_id = forms.CharField(
        label=_("Stripe connected account"),
        required=False,
        max_length=255,
        help_text=_("acct_…; leave empty to pay this shop by bank transfer."),
    )

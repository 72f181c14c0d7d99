"""The product page's forms: a buyer's report of a listing."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.catalogue.models import ListingReport
from marketplace.catalogue.reports import REPORT_TEXT_MAX_CHARS


class ListingReportForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("What is wrong?"), choices=ListingReport.Reason.choices, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label=_("Tell the association more"),
        max_length=REPORT_TEXT_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reason") == ListingReport.Reason.OTHER and not cleaned.get("text", "").strip():
            self.add_error("text", _("Say what is wrong with the listing."))
        return cleaned

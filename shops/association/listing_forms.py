"""Forms of the listing review: the reviewer's decisions, the category standard editor, and the
buyer's report on the product page. They check input; the decisions are taken by
``shops.association.listing_review``."""

from django import forms
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from shops.association.listing_review import REASON_MAX_CHARS

CategoryStandard = get_model("association", "CategoryStandard")
ListingReport = get_model("catalogue", "ListingReport")


class SendBackForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the farmer reads it)"),
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DismissReportsForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the reports are dismissed"),
        max_length=REASON_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CategoryStandardForm(forms.Form):
    required_fields = forms.MultipleChoiceField(
        label=_("Fields a listing must fill in"),
        choices=CategoryStandard.Field.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    min_photos = forms.IntegerField(label=_("Minimum photos"), min_value=0, max_value=20, initial=0)
    notes = forms.CharField(
        label=_("Notes for farmers"),
        max_length=REASON_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class RejectReviewForm(forms.Form):
    reason = forms.CharField(label=_("Why it is rejected"), max_length=REASON_MAX_CHARS)

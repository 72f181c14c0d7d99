"""The site-wide search box (Oscar's context processor renders it on every page)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class SearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        label=_("Search"),
        # The box accepts a long paste; the search itself reads the first 64 characters.
        max_length=2000,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("Search peaches, tea, bamboo shoots…"),
                "type": "search",
                "autocomplete": "off",
            }
        ),
    )

    def clean_q(self) -> str:
        return (self.cleaned_data.get("q") or "").strip()

"""The checkout form: a Chinese delivery address, an email for guests, and the card Stripe.js made."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

Region = get_model("places", "Region")

MOBILE = re.compile(r"^1[3-9]\d{9}$")


class CheckoutForm(forms.Form):
    email = forms.EmailField(label=_("Email"), required=False)
    recipient = forms.CharField(label=_("Recipient"), max_length=64)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    province = forms.CharField(
        label=_("Province"),
        max_length=32,
        widget=forms.TextInput(attrs={"list": "provinces", "autocomplete": "off"}),
    )
    city = forms.CharField(label=_("City"), max_length=32)
    county = forms.CharField(label=_("County / district"), max_length=32)
    street = forms.CharField(label=_("Street address"), max_length=255)
    payment_method = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def __init__(self, *args, guest: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = guest

    def clean_province(self) -> str:
        """One of China's 34 provincial-level divisions (a buyer may leave off 省/市/自治区)."""
        typed = self.cleaned_data["province"].strip()
        names = list(Region.objects.filter(level=Region.Level.PROVINCE).values_list("name", flat=True))
        for name in names:
            if typed == name or (len(typed) >= 2 and name.startswith(typed)):
                return name
        if not names:  # no region data loaded (a bare database): accept what was typed
            return typed
        raise forms.ValidationError(_("Choose a province, municipality or autonomous region of China."))

    def clean_phone(self) -> str:
        phone = re.sub(r"[\s-]", "", self.cleaned_data["phone"]).removeprefix("+86")
        if not MOBILE.match(phone):
            raise forms.ValidationError(_("Enter a mainland China mobile number: 11 digits starting with 1."))
        return f"+86{phone}"

    def clean_payment_method(self) -> str:
        value = self.cleaned_data["payment_method"].strip()
        if not re.match(r"^(pm|card|src)_[A-Za-z0-9]+$", value):
            raise forms.ValidationError(
                _("The card was not accepted by the payment page; please enter it again.")
            )
        return value

"""The checkout form: a Chinese delivery address, an email for guests, and how the buyer pays: the card
Stripe.js made, or WeChat Pay when it is offered (the pay-again page uses the payment part alone)."""

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.payments.services import WECHAT_PAY, wechat_pay_offered
from marketplace.places.selectors import PREFIX_MIN_CHARS, region_children, region_match

Region = get_model("places", "Region")

MOBILE = re.compile(r"^1[3-9]\d{9}$")
CARD = "card"
CARD_ID = re.compile(r"^(pm|card|src)_[A-Za-z0-9]+$")


class PaymentForm(forms.Form):
    """Card (``payment_method`` is then the card id Stripe.js made in the browser) or WeChat Pay (no card:
    Stripe answers with a QR code). WeChat Pay is a choice only while settings.STRIPE_WECHAT_PAY is on."""

    pay_with = forms.ChoiceField(
        label=_("Pay with"),
        choices=[(CARD, _("Bank card")), (WECHAT_PAY, _("WeChat Pay"))],
        initial=CARD,
        required=False,
        widget=forms.RadioSelect,
    )
    payment_method = forms.CharField(widget=forms.HiddenInput, max_length=255, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wechat_pay = wechat_pay_offered()

    def clean_pay_with(self) -> str:
        value = self.cleaned_data["pay_with"] or CARD
        if value == WECHAT_PAY and not self.wechat_pay:
            raise forms.ValidationError(_("WeChat Pay is not available at the moment; please pay by card."))
        return value

    def clean_payment_method(self) -> str:
        """The payment method to charge: WECHAT_PAY, or a card id of Stripe's shape."""
        pay_with = self.cleaned_data.get("pay_with")
        if pay_with == WECHAT_PAY:
            return WECHAT_PAY
        value = self.cleaned_data["payment_method"].strip()
        if pay_with is None:
            return value  # the choice itself was refused: that error is the one to show
        if not value:
            raise forms.ValidationError(_("Enter your card first."))
        if not CARD_ID.match(value):
            raise forms.ValidationError(
                _("The card was not accepted by the payment page; please enter it again.")
            )
        return value


class CheckoutForm(PaymentForm):
    email = forms.EmailField(label=_("Email"), required=False)
    recipient = forms.CharField(label=_("Recipient"), max_length=64)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    province = forms.CharField(
        label=_("Province"),
        max_length=32,
        widget=forms.TextInput(attrs={"list": "provinces", "autocomplete": "off"}),
    )
    city = forms.CharField(
        label=_("City"),
        max_length=32,
        widget=forms.TextInput(attrs={"list": "cities", "autocomplete": "off"}),
    )
    county = forms.CharField(
        label=_("County / district"),
        max_length=32,
        widget=forms.TextInput(attrs={"list": "counties", "autocomplete": "off"}),
    )
    street = forms.CharField(label=_("Street address"), max_length=255)

    field_order = ["email", "recipient", "phone", "province", "city", "county", "street"]

    def __init__(self, *args: Any, guest: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = guest

    def clean_province(self) -> str:
        """One of China's 34 provincial-level divisions (a buyer may leave off 省/市/自治区)."""
        typed = self.cleaned_data["province"].strip()
        provinces = list(Region.objects.filter(level=Region.Level.PROVINCE).only("pk", "name"))
        for province in provinces:
            if typed == province.name or (len(typed) >= PREFIX_MIN_CHARS and province.name.startswith(typed)):
                self.province = province  # the cities are checked against it in clean()
                return province.name
        if not provinces:  # no region data loaded (a bare database): accept what was typed
            return typed
        raise forms.ValidationError(_("Choose a province, municipality or autonomous region of China."))

    def clean(self) -> dict[str, Any]:
        """City and county must be divisions of the province and city chosen, when the region tree knows
        that province's cities (and that city's counties); otherwise what was typed is kept."""
        cleaned = super().clean() or {}
        province_name, city_typed = cleaned.get("province"), cleaned.get("city")
        if not province_name or not city_typed:
            return cleaned
        province = getattr(self, "province", None)
        cities = region_children(parent=province, level=Region.Level.CITY) if province else []
        if not cities:
            return cleaned
        city = region_match(typed=city_typed, candidates=cities)
        if city is None:
            self.add_error("city", _("Choose a city of %(province)s.") % {"province": province_name})
            return cleaned
        cleaned["city"] = city.name
        county_typed = cleaned.get("county")
        counties = region_children(parent=city, level=Region.Level.COUNTY)
        if county_typed and counties:
            county = region_match(typed=county_typed, candidates=counties)
            if county is None:
                self.add_error("county", _("Choose a county or district of %(city)s.") % {"city": city.name})
            else:
                cleaned["county"] = county.name
        return cleaned

    def clean_phone(self) -> str:
        phone = re.sub(r"[\s-]", "", self.cleaned_data["phone"]).removeprefix("+86")
        if not MOBILE.match(phone):
            raise forms.ValidationError(_("Enter a mainland China mobile number: 11 digits starting with 1."))
        return f"+86{phone}"

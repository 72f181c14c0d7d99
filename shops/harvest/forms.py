"""The farmer's harvest batch form (the console, on a phone): the shop's own listings and plots only."""

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.form_fields import BoundedModelChoiceField, BoundedModelMultipleChoiceField, day_within_reach
from shops.forms import MultiplePhotoField
from shops.harvest.models import MAX_BRIX, HarvestBatch
from shops.harvest.services import MAX_BATCH_KG
from shops.orchard.models import Plot

if TYPE_CHECKING:
    from oscar.apps.partner.models import Partner
Product = get_model("catalogue", "Product")
MAX_BATCH_PHOTOS = 6


class BatchForm(forms.Form):
    products = BoundedModelMultipleChoiceField(
        label=_("Listings"),
        queryset=Product.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What this harvest is sold as; orders of these listings draw from it."),
    )
    plot = BoundedModelChoiceField(label=_("Plot"), queryset=Plot.objects.none(), required=False)
    picked_on = forms.DateField(
        label=_("Picked on"), widget=forms.DateInput(attrs={"type": "date"}), validators=[day_within_reach]
    )
    quantity_kg = forms.DecimalField(
        label=_("Quantity (kg)"),
        max_digits=9,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(MAX_BATCH_KG)],
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    grade = forms.ChoiceField(
        label=_("Grade"), choices=[("", "—"), *HarvestBatch.Grade.choices], required=False
    )
    brix = forms.DecimalField(
        label=_("Sugar (°Brix)"),
        required=False,
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_BRIX)],
        help_text=_("If you measured it with a refractometer."),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    photos = MultiplePhotoField(low=1, high=MAX_BATCH_PHOTOS, label=_("Photos"), required=False)

    def __init__(self, *args: Any, shop: "Partner", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = cast(forms.ModelMultipleChoiceField, self.fields["products"])
        products.queryset = Product.objects.filter(shop=shop, net_weight_g__gt=0).order_by("title")
        cast(forms.ModelChoiceField, self.fields["plot"]).queryset = Plot.objects.filter(shop=shop)
        self.fields["picked_on"].initial = timezone.localdate()

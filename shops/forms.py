"""Forms of the farmer console. ``ListingForm`` checks one listing, typed in on a phone or read from a
row of an import file, and turns it into ``shops.listings.ListingData``."""

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.dates import MONTHS as MONTH_NAMES
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.form_fields import BoundedModelChoiceField, BoundedModelMultipleChoiceField
from shops.listings import MAX_PRICE, MAX_STOCK, ListingData
from shops.photos import photo_clean

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category, Product
    from oscar.apps.partner.models import StockRecord
else:
    Product = get_model("catalogue", "Product")
    Category = get_model("catalogue", "Category")
ProductClass = get_model("catalogue", "ProductClass")
Certification = get_model("catalogue", "Certification")
ShopOrder = get_model("order", "ShopOrder")

MONTHS = [("", "—"), *((str(number), name) for number, name in MONTH_NAMES.items())]


class CategoryChoiceField(BoundedModelChoiceField):
    def label_from_instance(self, obj: "Category") -> str:
        return obj.full_name if obj.depth > 1 else obj.display_name


class ListingForm(forms.Form):
    title = forms.CharField(label=_("Name"), max_length=255)
    title_en = forms.CharField(label=_("English name"), max_length=255, required=False)
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.none())
    product_class = BoundedModelChoiceField(label=_("Kind"), queryset=ProductClass.objects.none())
    variety = forms.CharField(label=_("Variety"), max_length=64, required=False)
    variety_en = forms.CharField(label=_("Variety (English)"), max_length=64, required=False)
    price = forms.DecimalField(
        label=_("Price per pack (¥)"), min_value=Decimal("0.01"), max_value=MAX_PRICE, decimal_places=2
    )
    pack_size = forms.CharField(label=_("Pack"), max_length=64, required=False)
    pack_size_en = forms.CharField(label=_("Pack (English)"), max_length=64, required=False)
    net_weight_g = forms.IntegerField(
        label=_("Net weight (g)"), min_value=1, max_value=100_000, required=False
    )
    stock = forms.IntegerField(label=_("Boxes to sell"), min_value=0, max_value=MAX_STOCK)
    harvest_start_month = forms.TypedChoiceField(
        label=_("Harvest from"), choices=MONTHS, coerce=int, empty_value=None, required=False
    )
    harvest_end_month = forms.TypedChoiceField(
        label=_("Harvest to"), choices=MONTHS, coerce=int, empty_value=None, required=False
    )
    storage = forms.ChoiceField(
        label=_("Storage"), choices=Product.Storage.choices, initial=Product.Storage.AMBIENT
    )
    perishable = forms.BooleanField(label=_("Perishable, needs cold chain"), required=False)
    shelf_life_days = forms.IntegerField(
        label=_("Shelf life (days)"), min_value=1, max_value=3650, required=False
    )
    grade = forms.ChoiceField(label=_("Grade"), choices=[("", "—"), *Product.Grade.choices], required=False)
    certifications = BoundedModelMultipleChoiceField(
        label=_("Certifications"),
        queryset=Certification.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    description_en = forms.CharField(
        label=_("English description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    presale = forms.BooleanField(label=_("Pre-sale (sold before harvest)"), required=False)
    presale_ship_from = forms.DateField(
        label=_("Pre-sale: ships from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sku = forms.CharField(label=_("Your code (optional)"), max_length=64, required=False)

    def __init__(self, *args: Any, allow_past_presale: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_past_presale = allow_past_presale
        # ModelChoiceFields (django-stubs types a form's fields as plain Fields)
        self.fields["category"].queryset = Category.objects.filter(is_public=True).order_by("path")  # type: ignore[attr-defined]
        self.fields["product_class"].queryset = ProductClass.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["certifications"].queryset = Certification.objects.all()  # type: ignore[attr-defined]

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError(_("Give the listing a name."))
        return title

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("harvest_start_month"), cleaned.get("harvest_end_month")
        if (start is None) != (end is None):
            self.add_error("harvest_end_month", _("Give both the first and the last month of the harvest."))
        if cleaned.get("presale"):
            ship_from = cleaned.get("presale_ship_from")
            if ship_from is None:
                self.add_error("presale_ship_from", _("A pre-sale needs the date it ships from."))
            elif ship_from <= timezone.localdate() and not self.allow_past_presale:
                self.add_error(
                    "presale_ship_from", _("The ship-from date of a pre-sale must be in the future.")
                )
        else:
            cleaned["presale_ship_from"] = None
        return cleaned

    def listing_data(self) -> ListingData:
        c = self.cleaned_data
        return ListingData(
            title=c["title"],
            title_en=c["title_en"].strip(),
            category_id=c["category"].pk,
            product_class_id=c["product_class"].pk,
            price=c["price"],
            stock=c["stock"],
            variety=c["variety"].strip(),
            variety_en=c["variety_en"].strip(),
            pack_size=c["pack_size"].strip(),
            pack_size_en=c["pack_size_en"].strip(),
            net_weight_g=c["net_weight_g"],
            harvest_start_month=c["harvest_start_month"],
            harvest_end_month=c["harvest_end_month"],
            storage=c["storage"],
            perishable=c["perishable"],
            shelf_life_days=c["shelf_life_days"],
            grade=c["grade"],
            description=c["description"].strip(),
            description_en=c["description_en"].strip(),
            presale_ship_from=c["presale_ship_from"],
            certification_ids=tuple(cert.pk for cert in c["certifications"]),
            sku=c["sku"].strip(),
        )

    @classmethod
    def initial_for(cls, product: "Product", stockrecord: "StockRecord | None") -> dict[str, Any]:
        """The form's values for an existing listing."""
        initial = {
            name: getattr(product, name)
            for name in ListingData.__dataclass_fields__
            if hasattr(product, name)
        }
        category = product.categories.first()
        initial.update(
            category=category.pk if category else None,
            product_class=product.product_class_id,
            certifications=[c.pk for c in product.certifications.all()],
            presale=product.presale_ship_from is not None,
        )
        if stockrecord is not None:
            initial.update(
                price=stockrecord.price,
                stock=max((stockrecord.num_in_stock or 0) - (stockrecord.num_allocated or 0), 0),
                sku=stockrecord.partner_sku,
            )
        return initial


class QuickEditForm(forms.Form):
    price = forms.DecimalField(
        label=_("Price (¥)"), min_value=Decimal("0.01"), max_value=MAX_PRICE, decimal_places=2
    )
    stock = forms.IntegerField(label=_("Boxes left"), min_value=0, max_value=MAX_STOCK)


class PackForm(forms.Form):
    parcel_count = forms.IntegerField(label=_("Parcels"), min_value=1, max_value=99, initial=1)
    parcel_weight_kg = forms.DecimalField(
        label=_("Total weight (kg)"), min_value=Decimal("0.01"), max_value=Decimal("999"), decimal_places=2
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why cancel?"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Say why the shop order is cancelled."))
        return reason


class PickingDayForm(forms.Form):
    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def day_or_today(self) -> datetime.date:
        if self.is_valid() and self.cleaned_data.get("day"):
            return self.cleaned_data["day"]
        return timezone.localdate()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several photos in one input, each cleaned by ``clean_one`` (checked, EXIF removed) into JPEG bytes; a
    photo it refuses (a ValueError whose text is the message) is named in the field's errors."""

    def __init__(
        self, *, low: int, high: int, clean_one: Callable[[UploadedFile], bytes] = photo_clean, **kwargs: Any
    ) -> None:
        self.low, self.high, self.clean_one = low, high, clean_one
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic"})
        )
        super().__init__(**kwargs)

    def clean(self, data: object, initial: object = None) -> list[bytes] | None:
        uploads = [upload for upload in (data if isinstance(data, list | tuple) else [data]) if upload]
        if not uploads:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        if not self.low <= len(uploads) <= self.high:
            raise ValidationError(
                _("Choose %(low)d to %(high)d photos (you chose %(count)d).")
                % {"low": self.low, "high": self.high, "count": len(uploads)}
            )
        cleaned: list[bytes] = []
        errors: list[str] = []
        for upload in uploads:
            if not isinstance(upload, UploadedFile):
                errors.append(str(_("That is not a file.")))
                continue
            try:
                cleaned.append(self.clean_one(upload))
            except ValueError as refused:
                errors.append(str(refused))
        if errors:
            raise ValidationError(errors)
        return cleaned

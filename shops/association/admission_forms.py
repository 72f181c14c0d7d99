"""Forms of shop admission: the public application (also used to edit it when changes are asked), the
association's decisions on it, and its decisions on a shop."""

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.form_fields import BoundedModelMultipleChoiceField
from shops.association.admission import (
    PHOTO_LIMITS,
    ApplicationDetails,
    application_photo_clean,
)
from shops.association.models import ShopApplication
from shops.forms import MultiplePhotoField

if TYPE_CHECKING:
    from marketplace.places.models import Region
else:
    Region = get_model("places", "Region")
Category = get_model("catalogue", "Category")
Partner = get_model("partner", "Partner")

# A mainland Chinese mobile number: 1, then 3–9, then nine digits.
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def _grouped(regions: Iterable["Region"], parent_label: Callable[["Region"], str]) -> list[tuple[str, Any]]:
    """Select choices grouped under each region's parent: [(parent label, [(pk, name), …]), …]."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for region in regions:
        groups.setdefault(parent_label(region), []).append((region.pk, region.display_name))
    return [("", "—"), *groups.items()]


def admission_counties() -> QuerySet["Region"]:
    """The counties an application may come from: those the region tree knows down to their towns (the
    association's service area, as the demo's Suichang and Huishan)."""
    return (
        Region.objects.filter(level=Region.Level.COUNTY, children__level=Region.Level.TOWN)
        .select_related("parent__parent")
        .distinct()
        .order_by("code", "name")
    )


class ApplicationForm(forms.Form):
    """The "open a shop" application. A town and a village are picked from the tree under the chosen
    county, or typed when they are not there yet."""

    shop_name = forms.CharField(label=_("Shop name (Chinese)"), max_length=128)
    shop_name_en = forms.CharField(label=_("Shop name in English (optional)"), max_length=128, required=False)
    farmer_name = forms.CharField(label=_("Your name"), max_length=64)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email (you will sign in with it)"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    county = forms.TypedChoiceField(label=_("County"), coerce=int)
    town = forms.TypedChoiceField(label=_("Town"), coerce=int, required=False, empty_value=None)
    town_name = forms.CharField(label=_("…or type your town"), max_length=64, required=False)
    village = forms.TypedChoiceField(label=_("Village"), coerce=int, required=False, empty_value=None)
    village_name = forms.CharField(label=_("…or type your village"), max_length=64, required=False)
    produce = forms.CharField(
        label=_("What do you grow or make?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    categories = BoundedModelMultipleChoiceField(
        label=_("Categories you will sell in"),
        queryset=Category.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    story = forms.CharField(
        label=_("A short story of your farm (optional)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        required=False,
    )
    farm_photos = MultiplePhotoField(
        clean_one=application_photo_clean,
        label=_("Photos of your farm (1 to 6)"),
        low=PHOTO_LIMITS["farm"][0],
        high=PHOTO_LIMITS["farm"][1],
    )
    licence_photos = MultiplePhotoField(
        clean_one=application_photo_clean,
        label=_(
            "Photos of your licences (1 to 4): business licence, food licence or cooperative certificate"
        ),
        low=PHOTO_LIMITS["licence"][0],
        high=PHOTO_LIMITS["licence"][1],
    )

    def __init__(self, *args: Any, application: ShopApplication | None = None, **kwargs: Any) -> None:
        """``application``: the application being edited (its photos may then be kept)."""
        super().__init__(*args, **kwargs)
        # The most the form's post may weigh (RequestBodyLimitMiddleware); the page's script checks the
        # chosen photos against it before sending, so an applicant never loses a post to a 413.
        self.max_body_bytes = settings.REQUEST_BODY_LIMITS["admission:apply"]
        counties = list(admission_counties())
        self.counties = {county.pk: county for county in counties}
        towns = list(
            Region.objects.filter(level=Region.Level.TOWN, parent__in=counties)
            .select_related("parent")
            .order_by("parent__code", "parent__name", "name")
        )
        self.towns = {town.pk: town for town in towns}
        villages = list(
            Region.objects.filter(level=Region.Level.VILLAGE, parent__in=towns)
            .select_related("parent")
            .order_by("parent__name", "name")
        )
        self.villages = {village.pk: village for village in villages}
        self.fields["county"].choices = _grouped(
            counties,
            lambda county: " ".join(
                r.display_name for r in (getattr(county.parent, "parent", None), county.parent) if r
            ),
        )
        self.fields["town"].choices = _grouped(towns, lambda town: town.parent.display_name)
        self.fields["village"].choices = _grouped(villages, lambda village: village.parent.display_name)
        self.fields["categories"].queryset = Category.objects.order_by("path")
        self.fields["categories"].label_from_instance = lambda category: category.display_name
        if application is not None:
            for name in ("farm_photos", "licence_photos"):
                self.fields[name].required = False
                self.fields[name].help_text = _("Leave empty to keep the photos you sent.")

    def clean_phone(self) -> str:
        phone = re.sub(r"[\s-]", "", self.cleaned_data["phone"])
        phone = phone.removeprefix("+86")
        if not MOBILE_RE.match(phone):
            raise ValidationError(_("Enter a mainland China mobile number: 11 digits starting with 13–19."))
        return phone

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        county = self.counties.get(data.get("county"))
        if "county" in data and county is None:
            self.add_error("county", _("Choose a county from the list."))
        town = self.towns.get(data.get("town")) if data.get("town") else None
        town_name = (data.get("town_name") or "").strip()
        village = self.villages.get(data.get("village")) if data.get("village") else None
        village_name = (data.get("village_name") or "").strip()
        if county is not None:
            if town is not None and town.parent_id != county.pk:
                self.add_error("town", _("This town is not in the county you chose."))
            elif town is None and not town_name:
                self.add_error("town", _("Choose your town, or type its name if it is not listed."))
            elif town is None:
                # A typed name that is in the tree after all is that region.
                town = next(
                    (t for t in self.towns.values() if t.parent_id == county.pk and t.name == town_name), None
                )
            if village is not None and (town is None or village.parent_id != town.pk):
                self.add_error("village", _("This village is not in the town you chose."))
            elif village is None and not village_name:
                self.add_error("village", _("Choose your village, or type its name if it is not listed."))
            elif village is None and town is not None:
                village = next(
                    (v for v in self.villages.values() if v.parent_id == town.pk and v.name == village_name),
                    None,
                )
        data["county_region"], data["town_region"], data["village_region"] = county, town, village
        data["town_name"], data["village_name"] = town_name, village_name
        return data

    def details(self) -> ApplicationDetails:
        data = self.cleaned_data
        return ApplicationDetails(
            shop_name=data["shop_name"].strip(),
            shop_name_en=data["shop_name_en"].strip(),
            farmer_name=data["farmer_name"].strip(),
            phone=data["phone"],
            email=data["email"],
            county=data["county_region"],
            town=data["town_region"],
            town_name=data["town_name"],
            village=data["village_region"],
            village_name=data["village_name"],
            produce=data["produce"].strip(),
            story=data["story"].strip(),
            categories=list(data["categories"]),
        )

    @staticmethod
    def initial_of(application: ShopApplication) -> dict:
        """The form's initial values from a stored application (for editing it)."""
        return {
            "shop_name": application.shop_name,
            "shop_name_en": application.shop_name_en,
            "farmer_name": application.farmer_name,
            "phone": application.phone,
            "email": application.email,
            "county": application.county_id,
            "town": application.town_id,
            "town_name": application.town_name,
            "village": application.village_id,
            "village_name": application.village_name,
            "produce": application.produce,
            "story": application.story,
            "categories": list(application.categories.values_list("pk", flat=True)),
        }


class RequestChangesForm(forms.Form):
    message = forms.CharField(
        label=_("What should the applicant change?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the applicant reads it)"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class ShopReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)


class ShopReviewRequiredForm(forms.Form):
    required = forms.BooleanField(label=_("New listings need the association's review"), required=False)
    reason = forms.CharField(label=_("Reason (optional)"), max_length=4000, required=False)


class ApplicationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *ShopApplication.Status.choices], required=False
    )


class ShopFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *Partner.Status.choices], required=False
    )
    county = forms.TypedChoiceField(label=_("County"), coerce=int, required=False, empty_value=None)
    q = forms.CharField(label=_("Name"), max_length=64, required=False)

    def __init__(self, *args: Any, counties: Iterable["Region"] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["county"].choices = [
            ("", _("All")),
            *((county.pk, county.display_name) for county in counties),
        ]

"""Oscar's Partner is the marketplace's village shop: it carries the shop's public record."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from oscar.apps.partner.abstract_models import AbstractPartner

from marketplace.i18n import pick
from marketplace.places.models import region_field


class Partner(AbstractPartner):
    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        APPROVED = "approved", _("Approved")
        SUSPENDED = "suspended", _("Suspended")

    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    status = models.CharField(
        _("Status"), max_length=16, choices=Status.choices, default=Status.APPLIED, db_index=True
    )
    story = models.TextField(_("Story"), blank=True)
    story_en = models.TextField(_("Story (English)"), blank=True)
    cover = models.ImageField(_("Cover photo"), upload_to="shops/covers/", blank=True)
    phone = models.CharField(_("Contact phone"), max_length=20, blank=True)
    province = region_field(_("Province"))
    city = region_field(_("City"))
    county = region_field(_("County"))
    town = region_field(_("Town"))
    village = region_field(_("Village"))
    joined_on = models.DateField(_("Join date"), null=True, blank=True)
    # Set by the association: this shop's new listings wait for its approval before going public.
    listing_review_required = models.BooleanField(_("New listings need review"), default=False)
    # The shop takes its parcels to the county hub itself (no village service point leg).
    delivers_to_hub = models.BooleanField(_("Delivers to the county hub itself"), default=False)
    # Products on sale, as the shop's card shows it: recounted after every catalogue change
    # (marketplace/storefront/shop_counts.py), not per page.
    public_product_count = models.PositiveIntegerField(_("Products on sale"), default=0, editable=False)

    class Meta(AbstractPartner.Meta):
        pass

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en) or self.code

    @property
    def display_story(self) -> str:
        return pick(self.story, self.story_en)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.APPROVED

    def get_absolute_url(self) -> str:
        return reverse("storefront:shop", kwargs={"code": self.code})

    def place_names(self) -> list[str]:
        """County → town → village, for 'where it comes from' lines."""
        return [r.display_name for r in (self.county, self.town, self.village) if r is not None]


from oscar.apps.partner.models import *  # noqa: E402,F403

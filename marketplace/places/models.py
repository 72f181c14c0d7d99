"""The region tree of China's administrative divisions: province → city → county → town → village."""

from typing import TYPE_CHECKING

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from marketplace.i18n import is_english
from marketplace.places.romanise import place_name_in_english

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Region(models.Model):
    class Level(models.IntegerChoices):
        PROVINCE = 1, _("Province")
        CITY = 2, _("City")
        COUNTY = 3, _("County")
        TOWN = 4, _("Town")
        VILLAGE = 5, _("Village")

    # GB/T 2260 six-digit codes for province, city and county; the statistics bureau's 9- and
    # 12-digit codes for towns and villages where known (blank otherwise).
    code = models.CharField(_("Region code"), max_length=12, blank=True)
    name = models.CharField(_("Name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    level = models.PositiveSmallIntegerField(_("Level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["level", "code", "name"]
        verbose_name = _("Region")
        verbose_name_plural = _("Regions")
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=~models.Q(code=""), name="region_code_unique"),
            models.UniqueConstraint(fields=["parent", "name"], name="region_name_unique_in_parent"),
        ]

    def __str__(self) -> str:
        # What forms and lists show by default: the reader's language (a label from data has both).
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the reader's language. In English a place the association added without an English
        name is written in pinyin with its kind (阳山镇 → Yangshan Town) rather than shown in Chinese."""
        if is_english():
            return self.name_en or place_name_in_english(self.name, self.level)
        return self.name or self.name_en

    def get_absolute_url(self) -> str:
        return reverse("storefront:place", kwargs={"pk": self.pk})

    @property
    def shop_field(self) -> str:
        """The Partner field that holds a region of this level (used to list a place's shops)."""
        return {1: "province", 2: "city", 3: "county", 4: "town", 5: "village"}[self.level]


def region_field(label: "StrOrPromise") -> "models.ForeignKey[Region | None, Region | None]":
    """An optional link to one level of the region tree (a shop's or an application's county, town…)."""
    return models.ForeignKey(
        "places.Region", verbose_name=label, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

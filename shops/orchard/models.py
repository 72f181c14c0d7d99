"""A shop's orchard plots: where produce grows, what its sensors measure, and the harvest batches picked
from it (a batch links an order line to its plot and picking day; see shops/harvest)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.i18n import pick


class Plot(models.Model):
    """A named piece of land a shop grows on (an orchard block, a tea garden terrace, a bamboo hill)."""

    shop = models.ForeignKey(
        "partner.Partner", verbose_name=_("Shop"), on_delete=models.PROTECT, related_name="plots"
    )
    name = models.CharField(_("Name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    village = models.ForeignKey(
        "places.Region",
        verbose_name=_("Village"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    crop = models.CharField(_("What grows here"), max_length=64, blank=True)
    area_mu = models.DecimalField(_("Area (mu)"), max_digits=8, decimal_places=2, null=True, blank=True)
    altitude_m = models.PositiveIntegerField(_("Altitude (m)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shop", "name"]
        verbose_name = _("Orchard plot")
        verbose_name_plural = _("Orchard plots")
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="plot_name_unique_in_shop")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en)

"""How each shop charges for delivery (its rule), alongside Oscar's shipping models."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ShippingRule(models.Model):
    """How a shop charges for delivery of its part of an order."""

    class Kind(models.TextChoices):
        FLAT = "flat", _("Flat rate")
        BY_WEIGHT = "by_weight", _("By weight")

    shop = models.OneToOneField("partner.Partner", on_delete=models.CASCADE, related_name="shipping_rule")
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices, default=Kind.FLAT)
    flat_charge = models.DecimalField(_("Flat charge"), max_digits=8, decimal_places=2, default=0)
    first_kg_charge = models.DecimalField(_("First kg"), max_digits=8, decimal_places=2, default=0)
    extra_kg_charge = models.DecimalField(_("Each further kg"), max_digits=8, decimal_places=2, default=0)
    free_above = models.DecimalField(
        _("Free above (goods total)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    cold_chain_surcharge = models.DecimalField(
        _("Cold-chain surcharge"), max_digits=8, decimal_places=2, default=0
    )

    class Meta:
        verbose_name = _("Shipping rule")
        verbose_name_plural = _("Shipping rules")
        db_table = "shops_shippingrule"  # the table kept its name when the model moved from shops

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.get_kind_display()}"


from oscar.apps.shipping.models import *  # noqa: E402,F403

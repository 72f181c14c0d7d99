"""The sales ledger: one row per sale (a shop order paid) and per refund (money that went back), the one
definition of a sale that the farmer console, the association's sales review, open data and settlement
all read. Written only by the paid action and the refund's success (``marketplace.ledger.services``)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SaleEntry(models.Model):
    class Kind(models.TextChoices):
        SALE = "sale", _("Sale")
        REFUND = "refund", _("Refund")

    kind = models.CharField(_("Kind"), max_length=8, choices=Kind.choices)
    shop = models.ForeignKey("partner.Partner", on_delete=models.PROTECT, related_name="+")
    shop_order = models.ForeignKey("order.ShopOrder", on_delete=models.PROTECT, related_name="ledger_entries")
    refund = models.OneToOneField(
        "payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entry"
    )
    # When the order was paid, or the refund made; ``day`` is that moment's date in Asia/Shanghai.
    at = models.DateTimeField(_("At"))
    day = models.DateField(_("Day"))
    # A sale's goods and shipping; zero for a refund (Stripe refunds an amount, not goods or shipping).
    goods = models.DecimalField(_("Goods"), max_digits=14, decimal_places=2)
    shipping = models.DecimalField(_("Shipping"), max_digits=14, decimal_places=2)
    # Signed: what the sale brought in (goods + shipping), or minus what the refund paid back. The net
    # sales of any set of rows is their sum.
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("Sales ledger entry")
        verbose_name_plural = _("Sales ledger")
        constraints = [
            models.UniqueConstraint(fields=["shop_order"], condition=Q(kind="sale"), name="ledger_one_sale"),
            models.CheckConstraint(
                condition=Q(kind="sale", refund__isnull=True, amount__gte=0)
                | Q(kind="refund", refund__isnull=False, amount__lte=0),
                name="ledger_kind_shape",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "day"], name="ledger_shop_day"),
            models.Index(fields=["day"], name="ledger_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.shop_order_id} {self.amount}"

"""Village shops' records beyond Oscar's Partner: the history of every status change."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.partner.models import Partner


class ShopStatusEvent(models.Model):
    """One move of a shop's status (applied → approved → suspended …): who, when, why."""

    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="status_events")
    from_status = models.CharField(_("From"), max_length=16, choices=Partner.Status.choices, blank=True)
    to_status = models.CharField(_("To"), max_length=16, choices=Partner.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("Reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("Shop status event")
        verbose_name_plural = _("Shop status events")

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.from_status or '-'} → {self.to_status}"


class ShopOrder(models.Model):
    """The part of a buyer's order that one shop fulfils: its lines (Oscar order lines of this
    partner), its own shipping charge and its own status."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Pending payment")
        PAID = "paid", _("Paid")
        ACCEPTED = "accepted", _("Accepted")
        PACKED = "packed", _("Packed")
        HANDED_OVER = "handed_over", _("Handed to logistics")
        IN_TRANSIT = "in_transit", _("In transit")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    order = models.ForeignKey("order.Order", on_delete=models.PROTECT, related_name="shop_orders")
    shop = models.ForeignKey("partner.Partner", on_delete=models.PROTECT, related_name="shop_orders")
    number = models.CharField(_("Shop order number"), max_length=64, unique=True)
    status = models.CharField(
        _("Status"), max_length=32, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True
    )
    lines_total = models.DecimalField(_("Lines total"), max_digits=12, decimal_places=2)
    shipping_charge = models.DecimalField(_("Shipping charge"), max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    needs_cold_chain = models.BooleanField(_("Needs cold chain"), default=False)
    # The day the parcel can leave: today for goods in stock, the latest ship-from date of its pre-sale lines.
    ships_on = models.DateField(_("Ships on"), null=True, blank=True)
    # Whether this part's stock is allocated to it now: from placing until a payment fails, and again
    # while the buyer pays with another card.
    stock_held = models.BooleanField(default=True)
    # Filled in when the farmer marks the part packed.
    parcel_count = models.PositiveSmallIntegerField(_("Parcels"), null=True, blank=True)
    parcel_weight_g = models.PositiveIntegerField(_("Parcel weight (g)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "shop_id"]
        constraints = [models.UniqueConstraint(fields=["order", "shop"], name="shoporder_one_per_shop")]
        verbose_name = _("Shop order")
        verbose_name_plural = _("Shop orders")

    def __str__(self) -> str:
        return self.number

    @property
    def total(self):
        return self.lines_total + self.shipping_charge

    def lines(self):
        return self.order.lines.filter(partner_id=self.shop_id)


class ShopOrderEvent(models.Model):
    """One move of a shop order's status: who, when, why."""

    shop_order = models.ForeignKey(ShopOrder, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=32, blank=True, choices=ShopOrder.Status.choices)
    to_status = models.CharField(max_length=32, choices=ShopOrder.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("Reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        # The sales facts find a day's sales by their move to PAID (without it, every refresh reads the
        # whole history of events).
        indexes = [models.Index(fields=["to_status", "created_at"], name="shoporderevent_status_at")]

    def __str__(self) -> str:
        return f"{self.shop_order_id}: {self.from_status or '-'} → {self.to_status}"


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

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.get_kind_display()}"

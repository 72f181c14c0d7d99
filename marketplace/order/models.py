"""Oscar's order, and its split into shop orders: the part of a buyer's order each shop fulfils, with its
own status and the event row of every move (the moves are in ``marketplace/order/shop_orders.py``)."""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _


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
        db_table = "shops_shoporder"  # the table kept its name when the model moved from shops

    def __str__(self) -> str:
        return self.number

    @property
    def total(self) -> Decimal:
        return self.lines_total + self.shipping_charge

    def lines(self) -> "QuerySet[Line]":
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
        db_table = "shops_shoporderevent"

    def __str__(self) -> str:
        return f"{self.shop_order_id}: {self.from_status or '-'} → {self.to_status}"


from oscar.apps.order.models import *  # noqa: E402,F403

if TYPE_CHECKING:
    from oscar.apps.order.models import Line

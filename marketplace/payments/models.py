"""What we know of Stripe's side: one PaymentIntent per order, every webhook event once, refunds."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Payment(models.Model):
    """One attempt to pay a buyer's order (all its shop orders): a PaymentIntent with the payment
    method the buyer's browser made with Stripe.js. A declined card leaves a failed attempt; the buyer
    may try again with another card."""

    class Status(models.TextChoices):
        REQUIRES_PAYMENT = "requires_payment", _("Awaiting payment")
        REQUIRES_ACTION = "requires_action", _("Awaiting the buyer's confirmation")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Payment failed")
        CANCELED = "canceled", _("Payment cancelled")
        # Stripe charged an order that was already paid (two attempts raced past every guard): the
        # extra charge is refunded automatically and the association is told (``payment_duplicate_refund``).
        DUPLICATE = "duplicate", _("Charged twice: the extra charge is refunded")

    order = models.ForeignKey("order.Order", on_delete=models.PROTECT, related_name="stripe_payments")
    intent_id = models.CharField(max_length=255, unique=True)
    payment_method = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.REQUIRES_PAYMENT)
    failure_message = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The Stripe refund of a duplicate charge (status DUPLICATE), once made.
    duplicate_refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.order_id}: {self.intent_id} ({self.status})"


class PaymentClaim(models.Model):
    """The right to talk to Stripe about one order's payment, held by one request at a time: concurrent
    pay submissions (two tabs, a double click) find it taken and show "payment in progress" instead of
    charging again. Taken and given back in short transactions of their own, never held across a lock;
    a claim older than ``CLAIM_SECONDS`` (its process died) may be taken over. Given back, the row stays
    with an empty token (one UPDATE to take or give back, none of a transaction's overhead)."""

    order = models.OneToOneField(
        "order.Order", on_delete=models.CASCADE, primary_key=True, related_name="payment_claim"
    )
    token = models.CharField(max_length=32)
    claimed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.order_id} since {self.claimed_at:%H:%M:%S}"


class StripeEvent(models.Model):
    """A webhook event, recorded once by its id: a replay or a duplicate finds it and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=128)
    object_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Refund(models.Model):
    """Money given back for (part of) one shop order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Refund pending")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Refund failed")

    shop_order = models.ForeignKey("order.ShopOrder", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.TextField(blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The sales facts and the settlement find a day's or a month's succeeded refunds.
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_at")]

    def __str__(self) -> str:
        return f"{self.shop_order_id}: {self.amount} ({self.status})"


class RefundLine(models.Model):
    """Which order line, and how many of it, a refund pays back (a partial refund per line)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey("order.Line", on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.refund_id}: line {self.line_id} × {self.quantity}"

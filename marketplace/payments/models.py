"""What we know of Stripe's side: one PaymentIntent per order, every webhook event once, refunds."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# What a buyer is told for Stripe's decline codes (``decline_code``, else ``code``); any other code gets
# "card_declined"'s words. https://docs.stripe.com/declines/codes
DECLINE_MESSAGES = {
    "card_declined": _("Your card was declined. Try another card, or ask your bank why."),
    "generic_decline": _("Your card was declined. Try another card, or ask your bank why."),
    "do_not_honor": _("Your card was declined. Try another card, or ask your bank why."),
    "insufficient_funds": _("Your card has insufficient funds. Try another card."),
    "expired_card": _("Your card has expired. Try another card."),
    "incorrect_cvc": _("The card's security code is incorrect."),
    "invalid_cvc": _("The card's security code is incorrect."),
    "incorrect_number": _("The card number is incorrect."),
    "invalid_number": _("The card number is incorrect."),
    "invalid_expiry_month": _("The card's expiry date is incorrect."),
    "invalid_expiry_year": _("The card's expiry date is incorrect."),
    "lost_card": _("Your card was declined. Try another card, or ask your bank why."),
    "stolen_card": _("Your card was declined. Try another card, or ask your bank why."),
    "fraudulent": _("Your card was declined. Try another card, or ask your bank why."),
    "processing_error": _("The card could not be charged just now. Please try again in a moment."),
    "authentication_required": _("Your bank asks you to confirm this payment. Try again and confirm it."),
    "card_velocity_exceeded": _("Your card's limit was reached. Try another card."),
}


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
    # Stripe's words (English, for the staff) and its code (``insufficient_funds``, ``expired_card``, …),
    # from which the buyer is told why in their own language (``failure_text``).
    failure_message = models.TextField(blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The Stripe refund of a duplicate charge (status DUPLICATE), once made.
    duplicate_refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.order_id}: {self.intent_id} ({self.status})"

    @property
    def failure_text(self) -> str:
        """Why the payment failed, in the reader's language: never Stripe's English words."""
        if not (self.failure_code or self.failure_message):
            return ""
        return str(DECLINE_MESSAGES.get(self.failure_code, DECLINE_MESSAGES["card_declined"]))


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

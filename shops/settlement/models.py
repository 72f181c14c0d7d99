"""Settling money with the village shops: the association's commission rules, each shop's monthly
statement (sales − refunds − commission − shipping subsidy = payable) and how it was paid."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CommissionRule(models.Model):
    """A commission percentage in force from one day to another (Asia/Shanghai dates, both included).
    Its scope is a category (and the categories under it), a shop (all its goods, or one category of
    them), both, or neither (the default rule). Rules of one scope never overlap in time."""

    percent = models.DecimalField(
        _("Commission (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    category = models.ForeignKey(
        "catalogue.Category",
        verbose_name=_("Category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    shop = models.ForeignKey(
        "partner.Partner",
        verbose_name=_("Shop"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commission_rules",
    )
    effective_from = models.DateField(_("In force from"))
    # The last day the rule is in force; empty while it has no end.
    effective_to = models.DateField(_("In force until"), null=True, blank=True)
    note = models.CharField(_("Note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shop_id", "category_id", "effective_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="settlement_rule_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                name="settlement_rule_dates_in_order",
            ),
        ]
        verbose_name = _("Commission rule")
        verbose_name_plural = _("Commission rules")

    def __str__(self) -> str:
        return f"{self.scope_label()} {self.percent}% {self.effective_from}–{self.effective_to or ''}"

    def scope_label(self) -> str:
        category = self.category.name if self.category is not None else ""
        shop = self.shop.display_name if self.shop is not None else ""
        if shop and category:
            return f"{shop} · {category}"
        return shop or category or str(_("Default"))

    def in_force_on(self, day: datetime.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class ShopPayoutAccount(models.Model):
    """The shop's Stripe connected account, set by the association: statements are paid to it by a
    Stripe Transfer. A shop without one is paid by bank transfer, recorded by hand."""

    shop = models.OneToOneField(
        "partner.Partner", verbose_name=_("Shop"), on_delete=models.CASCADE, related_name="payout_account"
    )
    stripe_account_id = models.CharField(_("Stripe connected account"), max_length=255)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Payout account")
        verbose_name_plural = _("Payout accounts")

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.stripe_account_id}"


class Statement(models.Model):
    """One shop's settlement for one calendar month: its lines and totals. A draft is rebuilt when it
    is generated again; an issued one is final (corrections go into a later statement); a paid one is
    immutable."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")

    # The figures summed from the lines (statement_totals_refresh) and over a list of statements.
    TOTAL_FIELDS = (
        "sales",
        "refunds",
        "commission",
        "commission_reversal",
        "shipping_subsidy",
        "corrections",
        "payable",
    )

    shop = models.ForeignKey(
        "partner.Partner", verbose_name=_("Shop"), on_delete=models.PROTECT, related_name="statements"
    )
    # The first day of the month settled.
    period = models.DateField(_("Month"))
    number = models.CharField(_("Statement number"), max_length=160, unique=True)
    status = models.CharField(
        _("Status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    sales = models.DecimalField(_("Sales"), max_digits=14, decimal_places=2, default=Decimal("0"))
    refunds = models.DecimalField(_("Refunds"), max_digits=14, decimal_places=2, default=Decimal("0"))
    commission = models.DecimalField(_("Commission"), max_digits=14, decimal_places=2, default=Decimal("0"))
    commission_reversal = models.DecimalField(
        _("Commission given back"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    shipping_subsidy = models.DecimalField(
        _("Shipping subsidy"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    corrections = models.DecimalField(_("Corrections"), max_digits=14, decimal_places=2, default=Decimal("0"))
    payable = models.DecimalField(_("Payable"), max_digits=14, decimal_places=2, default=Decimal("0"))
    generated_at = models.DateTimeField(_("Generated"))
    issued_at = models.DateTimeField(_("Issued"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A payer's claim on the Stripe payout of an issued statement, taken and committed before Stripe is
    # called and cleared when the answer is recorded or the call fails: a second payer meanwhile is told
    # the payment is under way. A claim older than services.PAYOUT_CLAIM_STALE was left by a process that
    # died, and the next payer takes it over (the idempotency key gets it the same Transfer).
    payout_claim = models.UUIDField(null=True, blank=True, editable=False)
    payout_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-period", "shop_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "period"], name="settlement_one_per_shop_month")
        ]
        verbose_name = _("Statement")
        verbose_name_plural = _("Statements")

    def __str__(self) -> str:
        return self.number

    @property
    def is_final(self) -> bool:
        return self.status != self.Status.DRAFT


class StatementLine(models.Model):
    """One line of a statement, its amount signed as it counts towards the payable (a sale is +,
    a refund or commission −). Each sale and each refund lands in one statement ever: its head line
    (kind "sale" for a sale, "refund" for a refund) is unique, and so is a carried-over balance."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Sale: goods")
        SHIPPING = "shipping", _("Sale: shipping")
        REFUND = "refund", _("Refund")
        COMMISSION = "commission", _("Commission")
        COMMISSION_REVERSAL = "commission_reversal", _("Commission given back")
        SHIPPING_SUBSIDY = "shipping_subsidy", _("Shipping subsidy")
        CORRECTION = "correction", _("Correction")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("Kind"), max_length=32, choices=Kind.choices)
    shop_order = models.ForeignKey(
        "order.ShopOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines"
    )
    refund = models.ForeignKey(
        "payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines"
    )
    order_line = models.ForeignKey(
        "order.Line", null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines"
    )
    # A negative balance of an earlier statement, carried into this one.
    carried_from = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="carried_into"
    )
    day = models.DateField(_("Date"))
    description = models.CharField(_("Description"), max_length=255)
    base = models.DecimalField(_("Base"), max_digits=14, decimal_places=2, null=True, blank=True)
    rate = models.DecimalField(_("Rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    rule = models.ForeignKey(
        CommissionRule, null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines"
    )
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["day", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop_order"], condition=Q(kind="sale"), name="settlement_sale_once"
            ),
            models.UniqueConstraint(
                fields=["refund"], condition=Q(kind="refund"), name="settlement_refund_once"
            ),
            models.UniqueConstraint(
                fields=["carried_from"],
                condition=Q(carried_from__isnull=False),
                name="settlement_carried_once",
            ),
        ]
        verbose_name = _("Statement line")
        verbose_name_plural = _("Statement lines")

    def __str__(self) -> str:
        return f"{self.statement_id} {self.kind} {self.amount}"

    @property
    def reference(self) -> str:
        """What the line is about: the earlier statement carried over, else its shop order's number."""
        if self.carried_from is not None:
            return self.carried_from.number
        return self.shop_order.number if self.shop_order is not None else ""


class Payout(models.Model):
    """How a statement was paid: a Stripe Transfer to the shop's connected account, or a bank payment
    recorded by hand with its reference."""

    class Method(models.TextChoices):
        STRIPE = "stripe", _("Stripe transfer")
        MANUAL = "manual", _("Bank payment (recorded by hand)")

    statement = models.OneToOneField(Statement, on_delete=models.PROTECT, related_name="payout")
    method = models.CharField(_("Method"), max_length=16, choices=Method.choices)
    reference = models.CharField(_("Reference"), max_length=255)
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paid_at = models.DateTimeField(_("Paid"))

    class Meta:
        verbose_name = _("Payout")
        verbose_name_plural = _("Payouts")

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.method} {self.reference}"

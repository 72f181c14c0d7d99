"""Harvest batches and what links a parcel to them: a batch is produce picked on one day from one plot;
an order line draws its weight from batches, first picked first drawn (``LineDraw``); a parcel (shop order)
has a trace code, the unguessable key of its public trace page (``/t/<code>/``)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_BRIX = Decimal("40")


class HarvestBatch(models.Model):
    class Grade(models.TextChoices):
        # The same grades as a listing's (catalogue Product.Grade).
        PREMIUM = "premium", _("Premium")
        FIRST = "first", _("First grade")
        SECOND = "second", _("Second grade")

    shop = models.ForeignKey(
        "partner.Partner", verbose_name=_("Shop"), on_delete=models.PROTECT, related_name="harvest_batches"
    )
    plot = models.ForeignKey(
        "orchard.Plot",
        verbose_name=_("Plot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="harvest_batches",
    )
    products = models.ManyToManyField(
        "catalogue.Product", verbose_name=_("Listings"), related_name="harvest_batches"
    )
    picked_on = models.DateField(_("Picked on"))
    # Weights in grams: a line draws its quantity times its listing's net weight.
    quantity_g = models.PositiveIntegerField(_("Quantity (g)"))
    drawn_g = models.PositiveIntegerField(_("Drawn by orders (g)"), default=0)
    grade = models.CharField(_("Grade"), max_length=16, choices=Grade.choices, blank=True)
    brix = models.DecimalField(
        _("Sugar (°Brix)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_BRIX)],
    )
    note = models.CharField(_("Note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-picked_on", "-pk"]
        verbose_name = _("Harvest batch")
        verbose_name_plural = _("Harvest batches")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(drawn_g__lte=models.F("quantity_g")), name="harvestbatch_not_overdrawn"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_g__gt=0), name="harvestbatch_quantity_positive"
            ),
        ]
        indexes = [models.Index(fields=["shop", "picked_on"], name="harvestbatch_shop_picked")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """What the farmer writes on the crates: the picking day and the batch's id (20260715-42)."""
        return f"{self.picked_on:%Y%m%d}-{self.pk}"

    @property
    def remaining_g(self) -> int:
        return self.quantity_g - self.drawn_g

    @property
    def quantity_kg(self) -> Decimal:
        return Decimal(self.quantity_g) / 1000

    @property
    def remaining_kg(self) -> Decimal:
        return Decimal(self.remaining_g) / 1000

    @property
    def drawn_kg(self) -> Decimal:
        return Decimal(self.drawn_g) / 1000


class BatchPhoto(models.Model):
    batch = models.ForeignKey(HarvestBatch, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("Photo"), upload_to="harvest/%Y/%m/")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("Batch photo")
        verbose_name_plural = _("Batch photos")

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.image.name}"


class LineDraw(models.Model):
    """Grams of one order line taken from one batch (a line may span two batches)."""

    line = models.ForeignKey("order.Line", on_delete=models.CASCADE, related_name="harvest_draws")
    batch = models.ForeignKey(HarvestBatch, on_delete=models.PROTECT, related_name="draws")
    grams = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("Line drawn from a batch")
        verbose_name_plural = _("Lines drawn from batches")
        constraints = [models.UniqueConstraint(fields=["line", "batch"], name="linedraw_line_batch")]

    def __str__(self) -> str:
        return f"line {self.line_id} ← batch {self.batch_id}: {self.grams} g"


class ParcelTrace(models.Model):
    """The public key of a parcel's trace page: random, so pages cannot be walked by guessing."""

    shop_order = models.OneToOneField("order.ShopOrder", on_delete=models.CASCADE, related_name="trace")
    code = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Parcel trace")
        verbose_name_plural = _("Parcel traces")

    def __str__(self) -> str:
        return self.code

"""The association's own records: the audit log of every decision its staff take. Each part of the
workspace (admission, listing review, settlement…) writes to it through ``association.audit``."""

import os
import secrets
from pathlib import Path
from typing import Any, Never

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.catalogue.models import Product
from marketplace.places.models import region_field

# The group whose members use the workspace at /association/ (it holds the ``use_workspace`` permission).


# Every decision the log records (``audit_record``'s ``action``), as the association's staff read it.
AUDIT_ACTIONS = {
    "application.approve": _("Application approved"),
    "application.reject": _("Application rejected"),
    "application.request_changes": _("Application sent back for changes"),
    "shop.suspend": _("Shop suspended"),
    "shop.reinstate": _("Shop reinstated"),
    "shop.review_required": _("Shop's new listings to be reviewed"),
    "listing.approve": _("Listing approved"),
    "listing.send_back": _("Listing sent back"),
    "listing.report_dismiss": _("Listing report dismissed"),
    "standard.change": _("Category standard changed"),
    "review.publish": _("Buyer's review published"),
    "review.reject": _("Buyer's review rejected"),
    "commission.add": _("Commission rule added"),
    "commission.end": _("Commission rule ended"),
    "statement.issue": _("Statement issued"),
    "statement.pay": _("Statement paid"),
    "statement.correct": _("Statement corrected"),
    "payout_account.set": _("Payout account set"),
    "payout_account.remove": _("Payout account removed"),
    "payment.duplicate_refund": _("Duplicate payment refunded"),
}


class AuditEntry(models.Model):
    """One decision of the association: who took it, on what, when and why. Never edited or deleted."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A dotted verb, such as "application.approve", "shop.suspend", "listing.send_back", "statement.pay".
    action = models.CharField(_("Decision"), max_length=64, db_index=True)
    # What it was about: a model label ("partner.partner") and the object's primary key, with a label
    # kept as it read then (the object may be renamed later).
    subject_type = models.CharField(max_length=64, db_index=True)
    subject_id = models.CharField(max_length=64, db_index=True)
    subject_label = models.CharField(_("About"), max_length=255)
    reason = models.TextField(_("Reason"), blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("When"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("Association decision")
        verbose_name_plural = _("Association decisions")
        permissions = [("use_workspace", _("Can use the association workspace"))]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.subject_label}"

    @property
    def action_label(self) -> str:
        """The decision in the reader's language; the code itself for one this version does not know."""
        return str(AUDIT_ACTIONS.get(self.action, self.action))


# --- Shop admission: the public "open a shop" application and its review ----------------------


class PrivateStorage(FileSystemStorage):
    """Files that are personal data (licence photos): under settings.PRIVATE_MEDIA_ROOT, outside
    MEDIA_ROOT, with no public URL; the workspace serves them to association members only. The folder is
    read from the settings at each use, so a test (or a deployment) can move it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(base_url=None, **kwargs)

    @property
    def base_location(self) -> Path:
        return settings.PRIVATE_MEDIA_ROOT / "applications"

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> Never:
        raise ValueError("Private files have no public URL; the workspace serves them.")


private_storage = PrivateStorage()


def _private_storage() -> Storage:
    """The private files' storage: ``STORAGES["private"]`` when configured (a private bucket with
    MEDIA_STORAGE=s3, marketplace/settings.py), else the folder above. Read once, when the model loads."""
    if "private" in settings.STORAGES:
        return storages["private"]
    return private_storage


def _application_token() -> str:
    return secrets.token_urlsafe(24)


class ShopApplication(models.Model):
    """A farmer's application to open a village shop, reviewed by the association. The applicant follows
    it (and edits it when changes are asked) through a private link carrying ``token``."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Waiting for review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    OPEN_STATUSES = (Status.SUBMITTED, Status.CHANGES_REQUESTED)

    token = models.CharField(max_length=64, unique=True, default=_application_token, editable=False)
    status = models.CharField(
        _("Status"), max_length=32, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    shop_name = models.CharField(_("Shop name"), max_length=128)
    shop_name_en = models.CharField(_("English shop name"), max_length=128, blank=True)
    farmer_name = models.CharField(_("Farmer's name"), max_length=64)
    phone = models.CharField(_("Mobile phone"), max_length=11)
    email = models.EmailField(_("Email"))
    county = models.ForeignKey(
        "places.Region", verbose_name=_("County"), on_delete=models.PROTECT, related_name="+"
    )
    # A town and a village are either picked from the region tree or typed; a typed name becomes a
    # region only when the application is approved.
    town = region_field(_("Town"))
    town_name = models.CharField(_("New town name"), max_length=64, blank=True)
    village = region_field(_("Village"))
    village_name = models.CharField(_("New village name"), max_length=64, blank=True)
    produce = models.TextField(_("What you grow or make"))
    categories = models.ManyToManyField(
        "catalogue.Category", verbose_name=_("Categories you will sell in"), related_name="+"
    )
    story = models.TextField(_("Your story"), blank=True)
    # Filled in by the approval.
    shop = models.OneToOneField(
        "partner.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="application"
    )
    farmer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("Applied"), auto_now_add=True)
    # When it last entered "submitted": the queue is ordered by it.
    submitted_at = models.DateTimeField(_("Submitted"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("Shop application")
        verbose_name_plural = _("Shop applications")
        constraints = [
            # The duplicate guard, kept by the database too: one open application per email and per phone.
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(status__in=["submitted", "changes_requested"]),
                name="application_one_open_per_email",
            ),
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(status__in=["submitted", "changes_requested"]),
                name="application_one_open_per_phone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop_name} ({self.farmer_name})"

    @property
    def town_label(self) -> str:
        return self.town.name if self.town is not None else self.town_name

    @property
    def village_label(self) -> str:
        return self.village.name if self.village is not None else self.village_name


class ApplicationPhoto(models.Model):
    """A photo sent with an application: of the farm, or of a licence (personal data). Stored cleaned
    (JPEG, no EXIF) in the private storage."""

    class Kind(models.TextChoices):
        FARM = "farm", _("Farm")
        LICENCE = "licence", _("Licence")

    application = models.ForeignKey(ShopApplication, on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    image = models.FileField(storage=_private_storage, upload_to="%Y/%m/")
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["application_id", "kind", "display_order", "pk"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.kind} {self.display_order}"


class ApplicationEvent(models.Model):
    """One move of an application's status: who (None: the applicant), when, and the message."""

    application = models.ForeignKey(ShopApplication, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=32, blank=True, choices=ShopApplication.Status.choices)
    to_status = models.CharField(max_length=32, choices=ShopApplication.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(_("Message"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_status or '-'} → {self.to_status}"


class ListingReviewEvent(models.Model):
    """One move of a listing through the association's review (who, when, why); written by
    ``shops.association.listing_review`` and never edited."""

    product = models.ForeignKey(
        "catalogue.Product", verbose_name=_("Listing"), on_delete=models.CASCADE, related_name="review_events"
    )
    from_status = models.CharField(_("From"), max_length=16, choices=Product.ListingStatus.choices)
    to_status = models.CharField(_("To"), max_length=16, choices=Product.ListingStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("By"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("Reason"), blank=True)
    created_at = models.DateTimeField(_("When"), auto_now_add=True, db_index=True)

    class Meta:
        # The table kept its name when the model moved from the catalogue.
        db_table = "catalogue_listingreviewevent"
        ordering = ["-created_at", "-pk"]
        verbose_name = _("Listing review event")
        verbose_name_plural = _("Listing review events")

    def __str__(self) -> str:
        return f"{self.product_id}: {self.from_status} → {self.to_status}"


class CategoryStandard(models.Model):
    """The association's quality standard for a category and the categories under it (the nearest
    ancestor with a standard wins): which listing fields must be filled in, how many photos, and
    notes for farmers. Checked by ``shops.association.listing_review.listing_standards_check``."""

    # The listing fields a standard may require, with the label farmers and staff read.
    class Field(models.TextChoices):
        VARIETY = "variety", _("Variety")
        NET_WEIGHT = "net_weight", _("Net weight")
        PACK = "pack", _("Pack")
        HARVEST_MONTHS = "harvest_months", _("Harvest months")
        SHELF_LIFE = "shelf_life", _("Shelf life")
        STORAGE = "storage", _("Storage")
        GRADE = "grade", _("Grade")
        TITLE_EN = "title_en", _("English title")
        DESCRIPTION = "description", _("Description")

    category = models.OneToOneField(
        "catalogue.Category", verbose_name=_("Category"), on_delete=models.CASCADE, related_name="standard"
    )
    required_fields = models.JSONField(_("Required fields"), default=list, blank=True)
    min_photos = models.PositiveSmallIntegerField(
        _("Minimum photos"), default=0, validators=[MaxValueValidator(20)]
    )
    notes = models.TextField(_("Notes for farmers"), blank=True)
    updated_at = models.DateTimeField(_("Updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        db_table = "catalogue_categorystandard"  # kept its name when it moved from the catalogue
        verbose_name = _("Category standard")
        verbose_name_plural = _("Category standards")

    def __str__(self) -> str:
        return str(self.category)

    @property
    def required_labels(self) -> list[str]:
        labels = dict(self.Field.choices)
        return [str(labels[name]) for name in self.required_fields if name in labels]

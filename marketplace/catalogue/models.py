"""Oscar's catalogue with what produce needs: bilingual names, the shop that lists it, origin,
season, pack, storage, cold chain and certifications."""

import contextlib
import datetime
import os
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.staticfiles import finders
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from oscar.apps.catalogue.abstract_models import (
    AbstractAttributeOption,
    AbstractCategory,
    AbstractProduct,
    AbstractProductAttribute,
    AbstractProductAttributeValue,
    AbstractProductClass,
    AbstractProductImage,
    MissingProductImage,
)
from oscar.apps.catalogue.managers import ProductQuerySet as OscarProductQuerySet

from marketplace.i18n import is_english, pick

MONTH_VALIDATORS = [MinValueValidator(1), MaxValueValidator(12)]


class Certification(models.Model):
    """A claim a listing may carry, such as 地理标志 (GI), 绿色食品 or 有机."""

    code = models.SlugField(_("Code"), max_length=32, unique=True)
    name = models.CharField(_("Name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    # A claim tied to a place (a GI such as 阳山水蜜桃): a listing may carry it only when its origin
    # village lies inside one of these regions. None: the claim is not tied to a place.
    registered_regions = models.ManyToManyField(
        "places.Region", verbose_name=_("Registered regions"), blank=True, related_name="+"
    )

    class Meta:
        app_label = "catalogue"
        ordering = ["code"]
        verbose_name = _("Certification")
        verbose_name_plural = _("Certifications")

    def __str__(self) -> str:
        # What forms (the listing form's choices) and lists show by default: the reader's language.
        return self.display_name

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en)


class Category(AbstractCategory):
    name_en = models.CharField(_("English name"), max_length=255, blank=True)
    description_en = models.TextField(_("English description"), blank=True)
    # Products on sale in it and below it, kept by marketplace/storefront/shop_counts.py: the category page's
    # paginator reads it instead of counting every product of the category per page.
    public_product_count = models.PositiveIntegerField(_("Products on sale"), default=0, editable=False)

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en)

    @property
    def display_description(self) -> str:
        return pick(self.description, self.description_en)

    def get_meta_description(self) -> str:
        """Oscar's (the meta description written for the page, else the description), except that an English
        page is described by the English description rather than a Chinese meta description."""
        if is_english() and self.description_en:
            return strip_tags(self.description_en)
        return super().get_meta_description()

    @property
    def full_name(self) -> str:
        """The path from the top ("鲜果 > 水蜜桃"), in the reader's language (Oscar's joins the Chinese names;
        ``str()`` of a category is this)."""
        return self._full_name_separator.join(c.display_name for c in self.get_ancestors_and_self())

    def get_meta_title(self) -> str:
        """The page's title: the name in the reader's language unless one was written for the page."""
        return self.meta_title or self.display_name


class ProductClass(AbstractProductClass):
    """A kind of produce (鲜果, 蜂蜜): it decides a listing's facts. The farmer picks it by name."""

    name_en = models.CharField(_("English name"), max_length=128, blank=True)

    def __str__(self) -> str:
        # What forms (the listing form's "Kind" choices) and lists show by default: the reader's language.
        return self.display_name

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en) or self.slug


class ProductQuerySet(OscarProductQuerySet):
    def in_season(self, month: int) -> "ProductQuerySet":
        """Products whose harvest window includes ``month``; a window may wrap the year (Nov → Feb)."""
        plain = models.Q(harvest_start_month__lte=models.F("harvest_end_month")) & models.Q(
            harvest_start_month__lte=month, harvest_end_month__gte=month
        )
        wrapping = models.Q(harvest_start_month__gt=models.F("harvest_end_month")) & (
            models.Q(harvest_start_month__lte=month) | models.Q(harvest_end_month__gte=month)
        )
        return self.filter(plain | wrapping)

    def storefront(self) -> "ProductQuerySet":
        """What buyers may see: public, stand-alone or parent products of open shops."""
        return self.filter(is_public=True, parent__isnull=True, shop__status="approved")


def harvest_window_length(start: int | None, end: int | None) -> int | None:
    """Months a harvest window spans after its first month (0: one month); a window may wrap the year
    (November to February: 3)."""
    if not start or not end:
        return None
    return (end - start) % 12


class Product(AbstractProduct):
    class ListingStatus(models.TextChoices):
        LIVE = "live", _("On sale")
        PAUSED = "paused", _("Paused")
        AWAITING_REVIEW = "awaiting_review", _("Awaiting review")
        SENT_BACK = "sent_back", _("Sent back for changes")

    class Storage(models.TextChoices):
        AMBIENT = "ambient", _("Ambient")
        CHILLED = "chilled", _("Chilled")
        FROZEN = "frozen", _("Frozen")

    class Grade(models.TextChoices):
        PREMIUM = "premium", _("Premium")
        FIRST = "first", _("First grade")
        SECOND = "second", _("Second grade")

    title_en = models.CharField(_("English title"), max_length=255, blank=True)
    description_en = models.TextField(_("English description"), blank=True)
    shop = models.ForeignKey(
        "partner.Partner",
        verbose_name=_("Shop"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    variety = models.CharField(_("Variety"), max_length=64, blank=True)
    variety_en = models.CharField(_("Variety (English)"), max_length=64, blank=True)
    origin_village = models.ForeignKey(
        "places.Region",
        verbose_name=_("Origin"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    harvest_start_month = models.PositiveSmallIntegerField(
        _("Harvest from (month)"), null=True, blank=True, validators=MONTH_VALIDATORS
    )
    harvest_end_month = models.PositiveSmallIntegerField(
        _("Harvest to (month)"), null=True, blank=True, validators=MONTH_VALIDATORS
    )
    # Months the harvest window spans after its first (0: one month), kept by save() and the bulk path
    # (harvest_window_length): the home page's "in season" list is read in this order from an index.
    harvest_window_months = models.PositiveSmallIntegerField(null=True, editable=False)
    net_weight_g = models.PositiveIntegerField(_("Net weight (g)"), null=True, blank=True)
    pack_size = models.CharField(_("Pack"), max_length=64, blank=True)
    pack_size_en = models.CharField(_("Pack (English)"), max_length=64, blank=True)
    grade = models.CharField(_("Grade"), max_length=16, choices=Grade.choices, blank=True)
    shelf_life_days = models.PositiveSmallIntegerField(_("Shelf life (days)"), null=True, blank=True)
    storage = models.CharField(_("Storage"), max_length=16, choices=Storage.choices, default=Storage.AMBIENT)
    perishable = models.BooleanField(_("Perishable, needs cold chain"), default=False, db_index=True)
    # Pre-sale (预售): sold before harvest. Its stock record's stock is the pre-sale quota; parcels leave
    # on the ship-from date, not the day the order is paid.
    presale_ship_from = models.DateField(_("Pre-sale: ships from"), null=True, blank=True)
    certifications = models.ManyToManyField(
        Certification, verbose_name=_("Certifications"), blank=True, related_name="products"
    )
    # Where the listing stands with its shop and the association. Oscar's ``is_public`` follows it
    # (public only when live), so Oscar's own views and the storefront hide the rest.
    listing_status = models.CharField(
        _("Listing status"),
        max_length=16,
        choices=ListingStatus.choices,
        default=ListingStatus.LIVE,
        db_index=True,
    )
    # Why the association sent the listing back: the farmer reads it in the console.
    review_note = models.TextField(_("Review note"), blank=True)

    objects = ProductQuerySet.as_manager()

    class Meta(AbstractProduct.Meta):
        indexes = [
            models.Index(fields=["harvest_start_month", "harvest_end_month"]),
            models.Index(
                fields=["harvest_window_months", "-date_created", "id"], name="product_in_season_order"
            ),
            # A shop's page (its products on sale, newest first) read from the index in order: 0.5 ms for
            # its first page at 100,000 products on SQLite, where sorting the shop's products took 10 ms.
            models.Index(
                fields=["shop", "parent", "is_public", "-date_created", "id"],
                name="product_shop_listing_order",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.harvest_window_months = harvest_window_length(self.harvest_start_month, self.harvest_end_month)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"harvest_start_month", "harvest_end_month"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "harvest_window_months"}
        super().save(*args, **kwargs)

    def get_missing_image(self) -> MissingProductImage:
        """Oscar's placeholder photo, made safe for concurrent first requests: Oscar links the placeholder
        into MEDIA_ROOT on first use and answers 500 (``ImproperlyConfigured``) when another request made
        the folder or the link a moment earlier, as the first buyers of a new deployment do at once."""
        name = settings.OSCAR_MISSING_IMAGE_URL
        target = os.path.join(settings.MEDIA_ROOT, name)
        if settings.MEDIA_ROOT and not os.path.lexists(target):
            source = finders.find(f"oscar/img/{name}")
            if source is not None:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.symlink(source, target)
        return MissingProductImage()

    def get_title(self) -> str:
        if self.parent_id and not self.title:
            return self.parent.get_title()
        return pick(self.title, self.title_en)

    @property
    def display_description(self) -> str:
        return pick(self.description, self.description_en)

    def get_meta_description(self) -> str:
        """Oscar's, except that an English page is described by the English description rather than a
        Chinese meta description."""
        if is_english() and self.description_en:
            return strip_tags(self.description_en)
        return super().get_meta_description()

    @property
    def display_variety(self) -> str:
        return pick(self.variety, self.variety_en)

    @property
    def display_pack(self) -> str:
        return pick(self.pack_size, self.pack_size_en)

    @property
    def harvest_months(self) -> tuple[int, int] | None:
        if self.harvest_start_month and self.harvest_end_month:
            return self.harvest_start_month, self.harvest_end_month
        return None

    @property
    def is_on_sale(self) -> bool:
        """Whether buyers may buy it now: what the storefront shows (``ProductQuerySet.storefront``), a live
        listing of an approved shop. A paused, unreviewed or sent-back listing, or a suspended shop's, is
        not, whatever a form posts; a variant follows its parent listing."""
        listing = self.parent if self.parent_id else self
        return bool(listing.is_public and listing.shop_id and listing.shop.is_open)

    def has_review_by(self, user: AbstractBaseUser | AnonymousUser) -> bool:
        """Oscar's check, answered from ``reviewed_by_viewer`` when a page's selector annotated it for the
        signed-in viewer (one query for all of a page's products instead of one each)."""
        reviewed = getattr(self, "reviewed_by_viewer", None)
        if reviewed is not None and getattr(self, "reviewed_viewer_id", None) == user.pk:
            return bool(reviewed)
        return super().has_review_by(user)

    def is_presale(self, on: datetime.date | None = None) -> bool:
        return self.presale_ship_from is not None and self.presale_ship_from > (on or timezone.localdate())

    def is_in_season(self, on: datetime.date | None = None) -> bool:
        window = self.harvest_months
        if window is None:
            return False
        month = (on or timezone.localdate()).month
        start, end = window
        return start <= month <= end if start <= end else (month >= start or month <= end)


class ProductAttribute(AbstractProductAttribute):
    """A fact of a kind of produce (蜂种, 蜜源, 糖度) with its English name beside the Chinese one."""

    name_en = models.CharField(_("English name"), max_length=128, blank=True)

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en)


class AttributeOption(AbstractAttributeOption):
    """One of the values an option-type fact may take (蜂种: 中华蜜蜂), named once in both languages by the
    association, so every listing that picks it reads in English without its farmer writing anything."""

    option_en = models.CharField(_("English option"), max_length=255, blank=True)

    def __str__(self) -> str:
        # Oscar shows an option value as ``str(option)`` (value_as_text, its multi-option join, forms).
        return self.display_option

    @property
    def display_option(self) -> str:
        return pick(self.option, self.option_en)


class ProductAttributeValue(AbstractProductAttributeValue):
    """A listing's fact. A text fact is the farmer's own words, so like the listing's title it carries its
    English beside the Chinese (``value_text_en``); an option fact takes its English from the option."""

    value_text_en = models.TextField(_("English text"), blank=True)

    @property
    def _text_as_text(self) -> str:
        # Oscar's value_as_text (and so value_as_html) reads ``_<type>_as_text`` when there is one.
        return pick(self.value_text or "", self.value_text_en)

    def summary(self) -> str:
        return f"{self.attribute.display_name}: {self.value_as_text}"


class ProductImage(AbstractProductImage):
    # Set by the Celery task that draws the list, page and zoom renditions after the upload commits.
    renditions_ready = models.BooleanField(_("Renditions ready"), default=False)
    # The SHA-256 of the file the farmer sent (shops/photos.py): the same file sent again is not added twice.
    upload_sha256 = models.CharField(_("Upload's SHA-256"), max_length=64, blank=True, default="")


class ListingReport(models.Model):
    """A buyer's report that a listing is wrong. The listing stays on sale and enters the association's
    review queue until the report is resolved (dismissed, or the listing sent back)."""

    class Reason(models.TextChoices):
        DESCRIPTION = "description", _("Wrong description")
        QUALITY = "quality", _("Quality")
        CLAIM = "claim", _("Prohibited claim")
        PRICE = "price", _("Price")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    class Resolution(models.TextChoices):
        DISMISSED = "dismissed", _("Dismissed")
        SENT_BACK = "sent_back", _("Listing sent back")

    product = models.ForeignKey(
        "catalogue.Product", verbose_name=_("Listing"), on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("Reported by"), on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("Reason"), max_length=16, choices=Reason.choices)
    text = models.TextField(_("What is wrong"), max_length=2000, blank=True)
    status = models.CharField(
        _("Status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolution = models.CharField(_("Resolution"), max_length=16, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(_("Resolution note"), blank=True)
    created_at = models.DateTimeField(_("Reported at"), auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(_("Resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("Listing report")
        verbose_name_plural = _("Listing reports")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "reporter"],
                condition=models.Q(status="open"),
                name="listing_report_one_open_per_reporter",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.get_reason_display()}"


from oscar.apps.catalogue.models import *  # noqa: E402,F403

"""The association's review of listings: the quality standards a listing must meet, the review status
machine (awaiting review → on sale or sent back; sent back → awaiting review again once the farmer
resubmits, in ``shops.listings.listing_resubmit``), buyers' reports and how staff resolve them, and
the category standards staff edit.

Every move of a listing's review status goes through ``listing_review_move`` (one event row per move);
every decision of the association's staff is also written to its decision log (``audit_record``).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.locks import for_update
from shops.association.audit import acting_user, audit_record

if TYPE_CHECKING:
    from marketplace.places.models import Region

Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")
Category = get_model("catalogue", "Category")
CategoryStandard = get_model("association", "CategoryStandard")
ListingReviewEvent = get_model("association", "ListingReviewEvent")
ListingReport = get_model("catalogue", "ListingReport")
ListingStatus = Product.ListingStatus
StandardField = CategoryStandard.Field

# A listing's status machine (an event row for every move). Pausing and resuming (live ⇄ paused) are the
# farmer's own moves (shops.listings); the rest are the review's.
REVIEW_TRANSITIONS: dict[str, set[str]] = {
    ListingStatus.AWAITING_REVIEW: {ListingStatus.LIVE, ListingStatus.SENT_BACK},
    ListingStatus.LIVE: {ListingStatus.SENT_BACK, ListingStatus.PAUSED},
    # A reported listing its farmer paused can still be sent back (else pausing would dodge a send-back).
    ListingStatus.PAUSED: {ListingStatus.SENT_BACK, ListingStatus.LIVE},
    ListingStatus.SENT_BACK: {ListingStatus.AWAITING_REVIEW},
}

# A buyer may file this many reports in a day, over all listings (one open report per listing).
REASON_MAX_CHARS = 2000
MIN_PHOTOS_MAX = 20


class ListingReviewError(ValueError):
    """A review decision or report that cannot be taken; the message says why, for the user."""


# --- standards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardProblem:
    """One way a listing falls short of the association's standards, with the message users read."""

    code: str  # "field:<name>", "photos" or "claim:<certification code>"
    message: str


def _field_filled(product: "Product", name: str) -> bool:
    values = {
        StandardField.VARIETY: product.variety,
        StandardField.NET_WEIGHT: product.net_weight_g,
        StandardField.PACK: product.pack_size,
        StandardField.HARVEST_MONTHS: product.harvest_start_month and product.harvest_end_month,
        StandardField.SHELF_LIFE: product.shelf_life_days,
        StandardField.STORAGE: product.storage,
        StandardField.GRADE: product.grade,
        StandardField.TITLE_EN: product.title_en.strip(),
        StandardField.DESCRIPTION: product.description.strip(),
    }
    return bool(values.get(name, True))


class StandardsBook:
    """Every category standard, read once, keyed by the category's tree path: a page that checks many
    listings asks the database once. Oscar's categories are a materialised-path tree, so a category's
    ancestors are the prefixes of its path."""

    def __init__(self, standards: Iterable["CategoryStandard"]) -> None:
        self._by_path = {standard.category.path: standard for standard in standards}

    @classmethod
    def load(cls) -> "StandardsBook":
        return cls(CategoryStandard.objects.select_related("category"))

    def standard_for(self, category: "Category") -> "CategoryStandard | None":
        """The standard of ``category`` or of its nearest ancestor that has one."""
        path, step = category.path, Category.steplen
        for end in range(len(path), 0, -step):
            standard = self._by_path.get(path[:end])
            if standard is not None:
                return standard
        return None


def region_within(region: "Region | None", registered: Iterable["Region"]) -> bool:
    """Whether ``region`` is one of ``registered`` or lies under one of them in the region tree."""
    wanted = {r.pk for r in registered}
    while region is not None:
        if region.pk in wanted:
            return True
        region = region.parent
    return False


# What listing_standards_check reads: a query for listings to check joins and prefetches these.
CHECK_RELATED = ("shop", "origin_village__parent__parent__parent__parent")
CHECK_PREFETCH = (
    "categories",
    Prefetch("images", queryset=ProductImage.objects.order_by("display_order", "pk")),
    "certifications__registered_regions",
)


def listing_standards_check(
    product: "Product", *, book: StandardsBook | None = None
) -> list[StandardProblem]:
    """What stops ``product`` from meeting the association's standards: the fields and photos its
    category's standard (or the nearest ancestor's) asks for, and any certification it claims outside
    the certification's registered regions. Empty when the listing meets them.

    Reads the categories, photos, claimed certifications with their regions and the origin village's
    parents: a query loading listings to check joins ``CHECK_RELATED`` and prefetches ``CHECK_PREFETCH``,
    so a queue of listings runs a fixed number of queries."""
    book = book or StandardsBook.load()
    problems: list[StandardProblem] = []
    required: list[str] = []
    min_photos = 0
    for category in product.categories.all():
        standard = book.standard_for(category)
        if standard is None:
            continue
        required += [name for name in standard.required_fields if name not in required]
        min_photos = max(min_photos, standard.min_photos)
    labels = dict(StandardField.choices)
    for name in required:
        if name in labels and not _field_filled(product, name):
            problems.append(
                StandardProblem(
                    f"field:{name}", _("“%(field)s” must be filled in.") % {"field": labels[name]}
                )
            )
    photo_count = len(product.images.all())
    if photo_count < min_photos:
        problems.append(
            StandardProblem(
                "photos",
                _("At least %(wanted)d photo(s) are needed; the listing has %(count)d.")
                % {"wanted": min_photos, "count": photo_count},
            )
        )
    for certification in product.certifications.all():
        regions = list(certification.registered_regions.all())
        if regions and not region_within(product.origin_village, regions):
            problems.append(
                StandardProblem(
                    f"claim:{certification.code}",
                    _("“%(claim)s” may only be claimed for produce from %(regions)s.")
                    % {
                        "claim": certification.display_name,
                        "regions": "、".join(region.display_name for region in regions),
                    },
                )
            )
    return problems


def listing_checkable(product_id: int) -> "Product":
    """The listing locked for a decision, with what the standards check reads."""
    return (
        for_update(Product.objects.all(), of=("self",))
        .select_related(*CHECK_RELATED)
        .prefetch_related(*CHECK_PREFETCH)
        .get(pk=product_id)
    )


# --- the status machine ---------------------------------------------------------------------------


def listing_review_move(
    *, product: "Product", to_status: str, actor: AbstractBaseUser | None, reason: str = ""
) -> "Product":
    """Move a listing through the review if ``REVIEW_TRANSITIONS`` allows it, with an event row;
    the storefront shows it only while it is on sale. Call inside the caller's transaction."""
    locked = for_update(Product.objects.all()).get(pk=product.pk)
    from_status = locked.listing_status
    if to_status not in REVIEW_TRANSITIONS.get(from_status, set()):
        raise ListingReviewError(
            _("A listing that is “%(from)s” cannot become “%(to)s”.")
            % {"from": locked.get_listing_status_display(), "to": ListingStatus(to_status).label}
        )
    locked.listing_status = to_status
    locked.is_public = to_status == ListingStatus.LIVE
    update_fields = ["listing_status", "is_public", "date_updated"]
    if to_status == ListingStatus.SENT_BACK:
        locked.review_note = reason
        update_fields.append("review_note")
    elif to_status == ListingStatus.LIVE and locked.review_note:
        locked.review_note = ""
        update_fields.append("review_note")
    locked.save(update_fields=update_fields)
    ListingReviewEvent.objects.create(
        product=locked,
        from_status=from_status,
        to_status=to_status,
        actor=acting_user(actor),
        reason=reason,
    )
    return locked


def listing_approve(*, product: "Product", actor: AbstractBaseUser) -> "Product":
    """Put a listing awaiting review on sale. Refused while its shop is not approved or while the
    listing falls short of the standards."""
    with transaction.atomic():
        checked = listing_checkable(product.pk)
        if checked.listing_status != ListingStatus.AWAITING_REVIEW:
            raise ListingReviewError(
                _("Only a listing awaiting review can be approved; this one is “%(status)s”.")
                % {"status": checked.get_listing_status_display()}
            )
        if checked.shop is None or not checked.shop.is_open:
            raise ListingReviewError(
                _("The shop “%(shop)s” is not approved: its listings cannot go on sale.")
                % {"shop": checked.shop.display_name if checked.shop else "—"}
            )
        problems = listing_standards_check(checked)
        if problems:
            raise ListingReviewError(
                _("The listing does not meet the standards yet: %(problems)s")
                % {"problems": " ".join(problem.message for problem in problems)}
            )
        approved = listing_review_move(product=checked, to_status=ListingStatus.LIVE, actor=actor)
        audit_record(actor=actor, action="listing.approve", subject=approved)
    return approved


def _reports_resolve(*, product: "Product", actor: AbstractBaseUser, resolution: str, note: str) -> list[int]:
    reports = list(
        for_update(ListingReport.objects.all())
        .filter(product=product, status=ListingReport.Status.OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ListingReport.objects.filter(pk__in=reports).update(
        status=ListingReport.Status.RESOLVED,
        resolved_by=actor,
        resolution=resolution,
        resolution_note=note,
        resolved_at=timezone.now(),
    )
    return reports


def listing_send_back(*, product: "Product", actor: AbstractBaseUser, reason: str) -> "Product":
    """Send a listing back to its farmer with the reason they read in the console. A listing on sale
    (after a report) leaves the storefront at once; its open reports are resolved by this."""
    reason = (reason or "").strip()
    if not reason:
        raise ListingReviewError(_("Say why the listing is sent back: the farmer reads it."))
    if len(reason) > REASON_MAX_CHARS:
        raise ListingReviewError(_("The reason is too long (at most 2,000 characters)."))
    with transaction.atomic():
        sent_back = listing_review_move(
            product=product, to_status=ListingStatus.SENT_BACK, actor=actor, reason=reason
        )
        reports = _reports_resolve(
            product=sent_back, actor=actor, resolution=ListingReport.Resolution.SENT_BACK, note=reason
        )
        audit_record(
            actor=actor,
            action="listing.send_back",
            subject=sent_back,
            reason=reason,
            details={"reports": reports},
        )
    return sent_back


def listing_reports_dismiss(*, product: "Product", actor: AbstractBaseUser, reason: str = "") -> int:
    """Close a listing's open reports without changing the listing; returns how many were closed."""
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_CHARS:
        raise ListingReviewError(_("The reason is too long (at most 2,000 characters)."))
    with transaction.atomic():
        locked = for_update(Product.objects.all()).get(pk=product.pk)
        reports = _reports_resolve(
            product=locked, actor=actor, resolution=ListingReport.Resolution.DISMISSED, note=reason
        )
        if not reports:
            raise ListingReviewError(_("This listing has no open report to dismiss."))
        audit_record(
            actor=actor,
            action="listing.report_dismiss",
            subject=locked,
            reason=reason,
            details={"reports": reports},
        )
    return len(reports)


# --- buyers' reports ------------------------------------------------------------------------------


# --- category standards ---------------------------------------------------------------------------


def category_standard_set(
    *,
    category: "Category",
    required_fields: Iterable[str],
    min_photos: int,
    notes: str,
    actor: AbstractBaseUser,
) -> "CategoryStandard | None":
    """Set (or, with nothing required and no notes, remove) a category's standard; audited as
    "standard.change" with the standard before and after."""
    fields = [name for name in StandardField.values if name in set(required_fields)]
    unknown = set(required_fields) - set(StandardField.values)
    if unknown:
        raise ListingReviewError(_("Unknown field(s): %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if not 0 <= min_photos <= MIN_PHOTOS_MAX:
        raise ListingReviewError(_("The minimum number of photos must be between 0 and 20."))
    notes = (notes or "").strip()
    with transaction.atomic():
        standard = for_update(CategoryStandard.objects.all()).filter(category=category).first()
        before = (
            {
                "required_fields": standard.required_fields,
                "min_photos": standard.min_photos,
                "notes": standard.notes,
            }
            if standard
            else None
        )
        after = {"required_fields": fields, "min_photos": min_photos, "notes": notes}
        if before == after:
            return standard
        if not fields and not min_photos and not notes:
            if standard is None:
                return None
            standard.delete()
            standard = None
            after = None
        elif standard is None:
            standard = CategoryStandard.objects.create(category=category, updated_by=actor, **after)
        else:
            for name, value in after.items():
                setattr(standard, name, value)
            standard.updated_by = actor
            standard.save(update_fields=[*after, "updated_by", "updated_at"])
        audit_record(
            actor=actor,
            action="standard.change",
            subject=category,
            details={"before": before, "after": after},
        )
    return standard

"""Reads for the listing review: the queue (listings awaiting review and listings with open reports,
oldest first), one listing with its reports and history, the counters of the overview, and the
category standards. They own the joins and prefetches, so a page's query count does not grow with
the number of listings on it."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from oscar.core.loading import get_model

from shops.association.listing_review import (
    CHECK_PREFETCH,
    CHECK_RELATED,
    StandardProblem,
    StandardsBook,
    listing_standards_check,
)

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
else:
    Product = get_model("catalogue", "Product")
Category = get_model("catalogue", "Category")
Certification = get_model("catalogue", "Certification")
if TYPE_CHECKING:
    from marketplace.catalogue.models import ListingReport
else:
    ListingReport = get_model("catalogue", "ListingReport")
ListingReviewEvent = get_model("association", "ListingReviewEvent")
StockRecord = get_model("partner", "StockRecord")
Partner = get_model("partner", "Partner")
ListingStatus = Product.ListingStatus

QUEUE_KINDS = ("awaiting", "reported")


def _open_reports() -> QuerySet[ListingReport]:
    return ListingReport.objects.filter(product=OuterRef("pk"), status=ListingReport.Status.OPEN)


def review_queue(
    *, shop_id: int | None = None, category_id: int | None = None, kind: str = ""
) -> QuerySet["Product"]:
    """Listings awaiting review and listings with open reports, the longest waiting first. Each
    carries ``open_reports`` and ``waiting_since`` (when it was submitted, or first reported)."""
    open_reports = _open_reports()
    report_count = open_reports.order_by().values("product").annotate(n=Count("pk")).values("n")
    first_report = open_reports.order_by("created_at").values("created_at")[:1]
    submitted = (
        ListingReviewEvent.objects.filter(product=OuterRef("pk"), to_status=ListingStatus.AWAITING_REVIEW)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    awaiting = Q(listing_status=ListingStatus.AWAITING_REVIEW)
    reported = Exists(open_reports)
    queue = Product.objects.filter(parent__isnull=True).annotate(
        open_reports=Coalesce(Subquery(report_count), Value(0)),
        first_report_at=Subquery(first_report, output_field=DateTimeField()),
        submitted_at=Coalesce(Subquery(submitted, output_field=DateTimeField()), "date_created"),
    )
    if kind == "awaiting":
        queue = queue.filter(awaiting)
    elif kind == "reported":
        queue = queue.filter(reported)
    else:
        queue = queue.filter(awaiting | reported)
    if shop_id:
        queue = queue.filter(shop_id=shop_id)
    if category_id:
        # A category and everything under it (Oscar's tree: descendants share the path prefix).
        category = Category.objects.filter(pk=category_id).only("path").first()
        if category is None:
            return queue.none()
        in_category = Product.categories.through.objects.filter(
            product=OuterRef("pk"), category__path__startswith=category.path
        )
        queue = queue.filter(Exists(in_category))
    # The earlier of "submitted" (only for a listing awaiting review) and "first reported", written
    # with both orders so a missing side never makes the whole expression NULL (SQLite's MIN would).
    since_submitted = Case(
        When(awaiting, then=F("submitted_at")), default=Value(None), output_field=DateTimeField()
    )
    return (
        queue.annotate(
            waiting_since=Least(
                Coalesce(since_submitted, "first_report_at"), Coalesce("first_report_at", since_submitted)
            )
        )
        .select_related(*CHECK_RELATED)
        .prefetch_related(
            *CHECK_PREFETCH, Prefetch("stockrecords", queryset=StockRecord.objects.order_by("pk"))
        )
        .order_by("waiting_since", "pk")
    )


@dataclass(frozen=True)
class QueueRow:
    product: object
    price: object
    photo_count: int
    problems: list[StandardProblem]
    open_reports: int
    awaiting: bool


def queue_rows(products: Iterable["Product"]) -> list[QueueRow]:
    """The rows of one page of the queue, each with its standards check (the standards read once)."""
    book = StandardsBook.load()
    rows = []
    for product in products:
        records = list(product.stockrecords.all())
        rows.append(
            QueueRow(
                product=product,
                price=records[0].price if records else None,
                photo_count=len(product.images.all()),
                problems=listing_standards_check(product, book=book),
                open_reports=product.open_reports,
                awaiting=product.listing_status == ListingStatus.AWAITING_REVIEW,
            )
        )
    return rows


def review_listing(*, product_id: int) -> "Product":
    """One listing as the reviewer sees it: shop, photos, stock record, reports with their reporters,
    review history with who moved it (``Product.DoesNotExist`` if there is none)."""
    return (
        Product.objects.filter(parent__isnull=True)
        .select_related(*CHECK_RELATED)
        .prefetch_related(
            *CHECK_PREFETCH,
            Prefetch("stockrecords", queryset=StockRecord.objects.order_by("pk")),
            Prefetch(
                "reports",
                queryset=ListingReport.objects.select_related("reporter", "resolved_by").order_by(
                    "-created_at"
                ),
            ),
            Prefetch("review_events", queryset=ListingReviewEvent.objects.select_related("actor")),
        )
        .get(pk=product_id)
    )


def review_filter_choices() -> tuple[list, list]:
    """The shops and categories the queue can be filtered by: those with something in the queue."""
    in_queue = Q(products__listing_status=ListingStatus.AWAITING_REVIEW) | Q(
        products__reports__status=ListingReport.Status.OPEN
    )
    shops = list(Partner.objects.filter(in_queue).distinct().order_by("name"))
    categories = list(Category.objects.order_by("path"))
    return shops, categories


def review_waiting_counts() -> dict[str, int]:
    """How many listings await review and how many buyers' reports are open (for the overview)."""
    return {
        "awaiting": Product.objects.filter(
            parent__isnull=True, listing_status=ListingStatus.AWAITING_REVIEW
        ).count(),
        "reports": ListingReport.objects.filter(status=ListingReport.Status.OPEN).count(),
    }


@dataclass(frozen=True)
class StandardRow:
    category: object
    standard: object  # the category's own standard, or None
    inherited_from: object  # the ancestor whose standard applies when it has none of its own


def standard_rows() -> list[StandardRow]:
    """Every category in tree order with its own standard or the one it inherits."""
    book = StandardsBook.load()
    rows = []
    for category in Category.objects.order_by("path"):
        found = book.standard_for(category)
        if found is not None and found.category_id == category.pk:
            rows.append(StandardRow(category, found, None))
        else:
            rows.append(StandardRow(category, None, found.category if found else None))
    return rows


def certifications_with_regions() -> list:
    return list(Certification.objects.prefetch_related("registered_regions"))

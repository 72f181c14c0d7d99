"""Reads that shape the admission and shops-oversight pages: each owns its joins, so a page's query
count does not grow with its rows."""

from typing import TYPE_CHECKING

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from oscar.core.loading import get_model

from shops.association.audit import audit_trail
from shops.association.models import ApplicationEvent, ApplicationPhoto, AuditEntry, ShopApplication
from shops.models import ShopStatusEvent

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category
    from oscar.apps.partner.models import Partner

    from marketplace.places.models import Region
else:
    Partner = get_model("partner", "Partner")
    Region = get_model("places", "Region")
    Category = get_model("catalogue", "Category")

Status = ShopApplication.Status


def applications_list(*, status: str = "") -> QuerySet[ShopApplication]:
    """Applications, those waiting for a decision first (newest first), then the others by date."""
    applications = (
        ShopApplication.objects.select_related("county", "town", "village", "shop")
        .annotate(
            waiting=Case(
                When(status=Status.SUBMITTED, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("waiting", "-submitted_at", "-pk")
    )
    return applications.filter(status=status) if status else applications


def applications_waiting_count() -> int:
    return ShopApplication.objects.filter(status=Status.SUBMITTED).count()


def application_detail(*, pk: int) -> ShopApplication:
    """One application with its photos, categories and history. DoesNotExist if there is none."""
    return (
        ShopApplication.objects.select_related("county__parent__parent", "town", "village", "shop", "farmer")
        .prefetch_related(
            Prefetch("photos", queryset=ApplicationPhoto.objects.order_by("kind", "display_order", "pk")),
            Prefetch("events", queryset=ApplicationEvent.objects.select_related("actor")),
            Prefetch("categories", queryset=Category.objects.order_by("path")),
        )
        .get(pk=pk)
    )


def application_by_token(*, token: str) -> ShopApplication:
    """The application behind a private link. DoesNotExist if the token is unknown."""
    return (
        ShopApplication.objects.select_related("county", "town", "village", "shop")
        .prefetch_related(
            Prefetch("photos", queryset=ApplicationPhoto.objects.order_by("kind", "display_order", "pk")),
            Prefetch("events", queryset=ApplicationEvent.objects.all()),
        )
        .get(token=token)
    )


def shops_list(*, status: str = "", county_id: int | None = None, query: str = "") -> QuerySet["Partner"]:
    """Every shop with its place and its number of listings, by name."""
    shops = (
        Partner.objects.select_related("county", "town", "village")
        .annotate(listings_count=Count("products", filter=Q(products__parent__isnull=True)))
        .order_by("name", "pk")
    )
    if status:
        shops = shops.filter(status=status)
    if county_id:
        shops = shops.filter(county_id=county_id)
    if query:
        shops = shops.filter(
            Q(name__icontains=query) | Q(name_en__icontains=query) | Q(code__icontains=query)
        )
    return shops


def shop_counties() -> list["Region"]:
    """The counties that have shops (for the shops list's filter)."""
    return list(
        Region.objects.filter(level=Region.Level.COUNTY, pk__in=Partner.objects.values("county")).order_by(
            "code", "name"
        )
    )


def shop_detail(*, pk: int) -> "Partner":
    """One shop with its place, the application that opened it (if any), farmers, status history and
    listings count. DoesNotExist if none."""
    return (
        Partner.objects.select_related("province", "city", "county", "town", "village", "application")
        .annotate(listings_count=Count("products", filter=Q(products__parent__isnull=True)))
        .prefetch_related(
            "users",
            Prefetch("status_events", queryset=ShopStatusEvent.objects.select_related("actor")),
        )
        .get(pk=pk)
    )


def shop_audit_trail(shop: "Partner") -> QuerySet[AuditEntry]:
    return audit_trail(shop)[:50]

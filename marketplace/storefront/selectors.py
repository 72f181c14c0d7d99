"""Reads that shape the storefront's pages: each owns its joins and prefetches, so a page's query
count is fixed whatever the number of products it shows."""

import datetime
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Permission
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.roles import ASSOCIATION_WORKSPACE_PERMISSION
from marketplace.storefront.compiled import compiled_rows, rows_where

Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")
if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category
else:
    Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
ProductClass = get_model("catalogue", "ProductClass")
Region = get_model("places", "Region")


@dataclass(frozen=True)
class Workplaces:
    """Which of the marketplace's workplaces a signed-in user may open (each a link in the header)."""

    shop_console: bool = False
    association: bool = False
    logistics_portal: bool = False
    admin: bool = False


def user_workplaces(user: AbstractBaseUser | AnonymousUser) -> Workplaces:
    """One query, whatever the user: shops they farm for, the association's permission (by user or
    group), logistics partners they work for."""
    if not user.is_authenticated:
        return Workplaces()
    User = get_user_model()
    app_label, codename = ASSOCIATION_WORKSPACE_PERMISSION.split(".")
    workspace = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            farms=Exists(User.partners.through.objects.filter(user_id=OuterRef("pk"))),
            delivers=Exists(User.logistics_partners.through.objects.filter(user_id=OuterRef("pk"))),
            associated=Exists(workspace.filter(Q(user=OuterRef("pk")) | Q(group__user=OuterRef("pk")))),
        )
        .values("farms", "delivers", "associated")
        .first()
    )
    if row is None:
        return Workplaces()
    return Workplaces(
        shop_console=row["farms"],
        association=bool(user.is_active and (user.is_superuser or row["associated"])),
        logistics_portal=row["delivers"],
        admin=bool(user.is_active and user.is_staff),
    )


@dataclass(frozen=True)
class LiveStock:
    """The stock state of some products as of now: which have a stock-tracked record (their sold-out
    state is the live one) and which of those have nothing left to sell."""

    tracked: frozenset[int]
    sold_out: frozenset[int]


def products_live_stock(*, product_ids: Collection[int]) -> LiveStock:
    """One indexed query, whatever the page: the state Oscar's ``StockRequired`` strategy gives the
    product's first stock record (``num_in_stock - num_allocated > 0`` is available). Products whose class
    does not track stock, parents and products without a record are left out: their state does not move
    with orders and stays as the cached card has it."""
    if not product_ids:
        return LiveStock(frozenset(), frozenset())
    # Written as SQL: it runs on every storefront page, even one served whole from the cache, where
    # building the ORM query cost more than running it (bench/profile_page.py).
    ids = [int(pk) for pk in product_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.product_id, s.num_in_stock, s.num_allocated FROM {StockRecord._meta.db_table} s"  # noqa: S608
            f" JOIN {Product._meta.db_table} p ON p.id = s.product_id"
            f" JOIN {ProductClass._meta.db_table} c ON c.id = p.product_class_id"
            f" WHERE c.track_stock AND s.product_id IN ({', '.join(['%s'] * len(ids))})"
            " ORDER BY s.product_id, s.id",
            ids,
        )
        rows = cursor.fetchall()
    first: dict[int, int] = {}
    for product_id, in_stock, allocated in rows:
        first.setdefault(product_id, (in_stock or 0) - (allocated or 0))
    return LiveStock(
        tracked=frozenset(first), sold_out=frozenset(pk for pk, left in first.items() if left <= 0)
    )


def product_stock_state(*, product_id: int) -> tuple[tuple[object, ...], ...]:
    """Everything of a product's stock records that its buy box shows (price, stock), in one plain-SQL
    query: the key of a kept buy box (``ProductDetailView.anonymous_buy_box``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, partner_id, price_currency, price, num_in_stock, num_allocated"  # noqa: S608
            f" FROM {StockRecord._meta.db_table} WHERE product_id = %s ORDER BY id",
            [int(product_id)],
        )
        return tuple(tuple(row) for row in cursor.fetchall())


CARD_RELATED = ("shop", "shop__county", "shop__town", "shop__village", "origin_village", "product_class")


def product_cards(products: QuerySet) -> QuerySet:
    """What a product card shows: shop and place, price and stock, main photo, certifications."""
    return products.select_related(*CARD_RELATED).prefetch_related(
        "stockrecords",
        Prefetch("images", queryset=ProductImage.objects.order_by("display_order", "pk")),
        "certifications",
    )


def storefront_products() -> QuerySet:
    return Product.objects.storefront()


def products_in_season(*, on: datetime.date | None = None, limit: int = 12) -> list[int]:
    """What is being harvested this month, the most seasonal first (a peach picked for six weeks comes
    before pork sold all year round), as product ids for their cards."""
    month = (on or timezone.localdate()).month
    # In the order of an index (product_in_season_order): the first twelve in season, not a sort of all.
    queryset = storefront_products().in_season(month).order_by("harvest_window_months", "-date_created", "pk")
    return list(queryset.values_list("pk", flat=True)[:limit])


def open_shops(*, limit: int | None = None) -> QuerySet:
    # Each shop's count is kept on it (marketplace/storefront/shop_counts.py): counting per page read
    # every product of every listed shop, which grew with the catalogue.
    queryset = (
        Partner.objects.filter(status=Partner.Status.APPROVED)
        .select_related("county", "town", "village")
        .annotate(product_count=F("public_product_count"))
        .order_by("joined_on", "pk")
    )
    return queryset[:limit] if limit else queryset


SHOP_PLACES = ("province", "city", "county", "town", "village")


def shop_for_page(*, code: str) -> "Partner | None":
    """The shop with its five places, in two plain reads (``compiled.rows_where``): the ORM's join of the
    five places cost 2.4 ms of CPU to build, a quarter of the shop's page drawn from scratch."""
    q = connection.ops.quote_name
    shops = rows_where(Partner, f"{q('code')} = %s AND {q('status')} <> %s", [code, Partner.Status.APPLIED])
    if not shops:
        return None
    shop = shops[0]
    ids = {place: getattr(shop, f"{place}_id") for place in SHOP_PLACES}
    known = [pk for pk in ids.values() if pk is not None]
    if known:
        regions = {
            r.pk: r for r in rows_where(Region, f"{q('id')} IN ({', '.join(['%s'] * len(known))})", known)
        }
        for place, pk in ids.items():
            if pk is not None:
                setattr(shop, place, regions[pk])
    return shop


def shop_products(*, shop: "Partner") -> QuerySet:
    return storefront_products().filter(shop=shop).order_by("-date_created", "pk")


def shop_first_page(*, shop_id: int, page_size: int) -> list[int]:
    """The ids of the shop's first page with one more (which tells whether more follow): ``shop_products``
    compiled once per process (``compiled.py``)."""
    rows = compiled_rows(
        "shop_first_page",
        page_size,
        lambda pk: (
            storefront_products()
            .filter(shop_id=pk)
            .order_by("-date_created", "pk")
            .values_list("pk")[: page_size + 1]
        ),
    )(shop_id)
    return [row[0] for row in rows]


def category_for_page(*, pk: int) -> "Category | None":
    """The category, read plainly (``compiled.rows_where``)."""
    found = rows_where(Category, f"{connection.ops.quote_name('id')} = %s", [pk])
    return found[0] if found else None


def public_children(*, category: "Category") -> list["Category"]:
    """The category's public children in tree order: treebeard's ``get_children`` (the path interval of
    the next depth), read plainly."""
    if category.is_leaf():
        return []
    q = connection.ops.quote_name
    low, high = category._get_children_path_interval(category.path)
    return rows_where(
        Category,
        f"{q('depth')} = %s AND {q('path')} BETWEEN %s AND %s AND {q('is_public')}",
        [category.depth + 1, low, high],
        order_by=q("path"),
    )


def top_categories() -> QuerySet:
    return Category.objects.get_root_nodes().filter(is_public=True)


def category_products(*, category: "Category") -> QuerySet:
    # A subquery rather than a join: no DISTINCT over every column, and a plain COUNT for the paginator.
    in_category = ProductCategory.objects.filter(category__in=category.get_descendants_and_self())
    products = storefront_products().filter(pk__in=in_category.values("product_id"))
    return products.order_by("-date_created", "pk")


def places_with_shops() -> list:
    """Counties and towns where open shops are, each with its number of shops, for 'browse by place'."""
    shops = Partner.objects.filter(status=Partner.Status.APPROVED)
    counties = dict(shops.values_list("county").annotate(n=Count("pk")).values_list("county", "n"))
    towns = dict(shops.values_list("town").annotate(n=Count("pk")).values_list("town", "n"))
    regions = Region.objects.filter(pk__in=[*counties, *towns]).select_related("parent")
    by_county: dict = {}
    for region in regions:
        if region.level == Region.Level.COUNTY:
            region.shop_count = counties.get(region.pk, 0)
            by_county.setdefault(region.pk, {"county": region, "towns": []})["county"] = region
    for region in regions:
        if region.level == Region.Level.TOWN:
            region.shop_count = towns.get(region.pk, 0)
            by_county.setdefault(region.parent_id, {"county": region.parent, "towns": []})["towns"].append(
                region
            )
    return sorted(by_county.values(), key=lambda entry: entry["county"].code or entry["county"].name)


def place_for_page(*, pk: int) -> "Region | None":
    return Region.objects.select_related("parent", "parent__parent").filter(pk=pk).first()


def place_products(*, place: "Region") -> QuerySet:
    products = storefront_products().filter(**{f"shop__{place.shop_field}": place})
    return products.order_by("-date_created", "pk")


def place_shops(*, place: "Region") -> QuerySet:
    return open_shops().filter(**{place.shop_field: place})

"""Reads of the sales review: figures for a period from the facts (never from order lines), broken down
by shop, village, town, county, category or product, with the previous period and the same period a year
earlier. The number of queries is fixed, whatever the number of shops, products or days.

By shop and its places (no category filter) a period's money and sales are read as its whole calendar
months from ``SalesMonth`` plus the days at either end from ``SalesDay``, in one query per figure
(``UNION ALL``), so a two-year range reads about as many rows as a month. Repeat buyers are exact: a count
over the buyers' chains by shop, by village, town or county, or over all shops (``BuyerSalesChain``, and
for a period holding a month start ``BuyerSalesChainMonth``), about one row read per repeat buyer; only
where a filter cuts a place, or a shop moved since its chains by place were built, each buyer's sales are
summed over its months (``BuyerSalesMonth``) and the edge days.

By category or product, or under a category filter, the same: money from ``ProductSalesMonth`` and the
edge days' ``ProductSalesDay``, sales containing a category from ``CategorySalesMonth`` and
``CategorySalesDay``; repeat buyers by category from the buyers' chains by category over all shops (the
"cat" and "tree" scopes), and under a category filter by shop or place (or within one) from the chains of
the category's tree at each shop or place ("shtree", "vtree", "ttree", "ctree"), exact; only by category
under a shop or place filter, or where the chains by place cannot answer, each buyer's sales containing
the category are summed over the period's days. The review's queries run in a transaction of their own,
planned without parallel workers (``_planned_serially``)."""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.figures import percent_of
from marketplace.i18n import pick
from marketplace.local_dates import month_after, month_first, month_last
from marketplace.money import money
from marketplace.periods import Period
from shops.sales.models import (
    CHAIN_TREE_OF,
    BuyerSalesChain,
    BuyerSalesChainMonth,
    BuyerSalesDay,
    BuyerSalesMonth,
    CategorySalesDay,
    CategorySalesMonth,
    ChainPlace,
    ProductSalesDay,
    ProductSalesMonth,
    SalesDay,
    SalesMonth,
)

Partner = get_model("partner", "Partner")
Region = get_model("places", "Region")
if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category
else:
    Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
SHOP, VILLAGE, TOWN, COUNTY, CATEGORY, PRODUCT = "shop", "village", "town", "county", "category", "product"
DIMENSIONS = [
    (SHOP, _("Shop")),
    (VILLAGE, _("Village")),
    (TOWN, _("Town")),
    (COUNTY, _("County")),
    (CATEGORY, _("Category")),
    (PRODUCT, _("Product")),
]
SHOP_DIMENSIONS = {
    SHOP: "shop_id",
    VILLAGE: "shop__village_id",
    TOWN: "shop__town_id",
    COUNTY: "shop__county_id",
}
# The row that holds what cannot belong to a product or category: shipping, and refunds not itemised.
UNITEMISED = "unitemised"


@dataclass(frozen=True)
class SalesFilters:
    county_id: int | None = None
    town_id: int | None = None
    village_id: int | None = None
    shop_id: int | None = None
    category_id: int | None = None


def change_percent(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    """The change from ``previous`` to ``current`` in per cent (one decimal); None when there was none."""
    if current is None or previous is None:
        return None
    return percent_of(current - previous, previous)


def category_roots(categories: Sequence["Category"]) -> dict[int, "Category | None"]:
    """Each category's top-level category (itself for a top-level one), by the category's pk, read from
    the materialised paths of ``categories`` (all of them: no query)."""
    root_of_path = {c.path: c for c in categories if c.depth == 1}
    return {c.pk: root_of_path.get(c.path[: Category.steplen]) for c in categories}


@dataclass
class Figures:
    """The figures of one group (or of everything) over a period. ``orders`` and ``units`` are None on
    the row of shipping and refunds not itemised; ``repeat_buyers`` is None where it is not counted."""

    key: object = None
    label: str = ""
    orders: int | None = 0
    units: int | None = 0
    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    presale_goods: Decimal = ZERO
    refunds: Decimal = ZERO
    repeat_buyers: int | None = 0

    def __post_init__(self) -> None:
        # Sums from the database: a float or an integer on SQLite (marketplace/money.py).
        self.goods, self.shipping = money(self.goods), money(self.shipping)
        self.presale_goods, self.refunds = money(self.presale_goods), money(self.refunds)

    @property
    def gross(self) -> Decimal:
        return self.goods + self.shipping

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds

    @property
    def average_order_value(self) -> Decimal | None:
        return (self.gross / self.orders).quantize(CENT, ROUND_HALF_UP) if self.orders else None

    @property
    def presale_share(self) -> Decimal | None:
        """Pre-sale goods as a per cent of goods (one decimal)."""
        return percent_of(self.presale_goods, self.goods)


METRICS = [
    ("orders", _("Orders")),
    ("units", _("Units")),
    ("gross", _("Gross sales")),
    ("refunds", _("Refunds")),
    ("net", _("Net sales")),
    ("average_order_value", _("Average order value")),
    ("repeat_buyers", _("Repeat buyers")),
    ("presale_share", _("Pre-sale share (%)")),
]


@dataclass(frozen=True)
class Comparison:
    metric: str
    label: str
    current: object
    previous: object
    last_year: object

    @property
    def change_previous(self) -> Decimal | None:
        return change_percent(self.current, self.previous)

    @property
    def change_last_year(self) -> Decimal | None:
        return change_percent(self.current, self.last_year)


@dataclass
class Row:
    figures: Figures
    previous_net: Decimal = ZERO

    @property
    def change_previous(self) -> Decimal | None:
        return change_percent(self.figures.net, self.previous_net)


@dataclass
class SalesReview:
    period: Period
    previous: Period
    last_year: Period
    dimension: str
    filters: SalesFilters
    totals: Figures
    totals_previous: Figures
    totals_last_year: Figures
    rows: list[Row]
    daily: list[tuple[datetime.date, Decimal]]
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def dimension_label(self) -> str:
        return dict(DIMENSIONS)[self.dimension]


@dataclass(frozen=True)
class Choices:
    """The small tables the page needs whole: shops, their regions and the categories."""

    shops: list
    counties: list
    towns: list
    villages: list
    categories: list

    @property
    def shop_names(self) -> dict[int, str]:
        return {shop.pk: shop.display_name for shop in self.shops}

    @property
    def region_names(self) -> dict[int, str]:
        return {r.pk: r.display_name for r in (*self.counties, *self.towns, *self.villages)}

    @property
    def category_names(self) -> dict[int, str]:
        return {c.pk: c.path_name for c in self.categories}


def review_choices() -> Choices:
    """Shops, the counties/towns/villages they are in, and categories (three queries)."""
    shops = list(
        Partner.objects.exclude(status=Partner.Status.APPLIED)
        .only("pk", "name", "name_en", "code", "county_id", "town_id", "village_id")
        .order_by("name", "pk")
    )
    used = {getattr(shop, f) for shop in shops for f in ("county_id", "town_id", "village_id")} - {None}
    regions = list(Region.objects.filter(pk__in=used).order_by("name", "pk"))
    categories = list(Category.objects.order_by("path"))
    roots = category_roots(categories)
    for category in categories:  # full names without a query per category (Oscar's walks the parents)
        parent = roots[category.pk]
        names = [category.display_name]
        if parent is not None and parent.pk != category.pk:
            names.insert(0, parent.display_name)
        category.path_name = " > ".join(names)
    return Choices(
        shops=shops,
        counties=[r for r in regions if r.level == Region.Level.COUNTY],
        towns=[r for r in regions if r.level == Region.Level.TOWN],
        villages=[r for r in regions if r.level == Region.Level.VILLAGE],
        categories=categories,
    )


def _subtree(category_id: int, choices: Choices) -> list[int]:
    root = next((c for c in choices.categories if c.pk == category_id), None)
    if root is None:
        return [category_id]
    return [c.pk for c in choices.categories if c.path.startswith(root.path)]


@dataclass(frozen=True)
class PeriodParts:
    """A period as its whole calendar months (``first_month`` to ``last_month``, first days; none when
    ``first_month`` is after ``last_month``) and the days before and after them (``head``, ``tail``:
    inclusive ranges, empty when their start is after their end)."""

    first_month: datetime.date
    last_month: datetime.date
    head: tuple[datetime.date, datetime.date]
    tail: tuple[datetime.date, datetime.date]


def period_parts(period: Period) -> PeriodParts:
    """Split ``period`` into whole months and the edge days, read from the monthly and daily facts."""
    one = datetime.timedelta(days=1)
    first = period.start if period.start.day == 1 else month_after(period.start)
    last_end = period.end if period.end == month_last(period.end) else month_first(period.end) - one
    if first > last_end:  # no whole month: every day from the daily facts
        return PeriodParts(first, first - one, (period.start, period.end), (period.end + one, period.end))
    return PeriodParts(
        first, month_first(last_end), (period.start, first - one), (last_end + one, period.end)
    )


def _shops_filtered(queryset: QuerySet[Any], filters: SalesFilters) -> QuerySet[Any]:
    for name, value in (
        ("shop__county_id", filters.county_id),
        ("shop__town_id", filters.town_id),
        ("shop__village_id", filters.village_id),
        ("shop_id", filters.shop_id),
    ):
        if value is not None:
            queryset = queryset.filter(**{name: value})
    return queryset


def _in_parts(
    monthly: QuerySet[Any], daily: QuerySet[Any], parts: PeriodParts, filters: SalesFilters
) -> tuple[QuerySet[Any], ...]:
    """The rows of ``monthly`` for the whole months and of ``daily`` for the days before and after them:
    a queryset for each part that has days (each a plain range on ``day``, which an index on
    (…, day) reads as a range; the two edges joined with OR were read as a filter over every day)."""
    querysets = []
    if parts.first_month <= parts.last_month:
        querysets.append(monthly.filter(month__gte=parts.first_month, month__lte=parts.last_month))
    for first, last in (parts.head, parts.tail):
        if first <= last:
            querysets.append(daily.filter(day__gte=first, day__lte=last))
    return tuple(_shops_filtered(queryset, filters) for queryset in querysets)


def _union_sql(querysets: Iterable[QuerySet[Any]]) -> tuple[str, list[Any]]:
    sqls, params = [], []
    for queryset in querysets:
        sql, more = queryset.query.sql_with_params()
        sqls.append(sql)
        params.extend(more)
    return " UNION ALL ".join(sqls), params


# Each figure summed from the facts (its name → the column of the monthly and daily rows).
SHOP_SUMS = {
    "sales": "sales",
    "units": "units",
    "goods": "goods",
    "shipping": "shipping",
    "presale_goods": "presale_goods",
    "refunds": "refunds",
    "refunds_itemised": "refunds_itemised",
}
PRODUCT_SUMS = {
    "sales": "sales",
    "units": "units",
    "goods": "goods",
    "presale_goods": "presale_goods",
    "refunds": "refunds_itemised",
}
SUMS_MONEY = {"goods", "shipping", "presale_goods", "refunds", "refunds_itemised"}
# What a period read for its net alone sums (the previous period's column).
SHOP_NET_SUMS = {"goods": "goods", "shipping": "shipping", "refunds": "refunds"}
PRODUCT_NET_SUMS = {"goods": "goods", "refunds": "refunds_itemised"}


def _period_sums(
    monthly: QuerySet[Any],
    daily: QuerySet[Any],
    parts: PeriodParts,
    filters: SalesFilters,
    group: str | None,
    sums: dict[str, str],
) -> dict:
    """The ``sums`` over the period per ``group`` (None: over everything): of the ``monthly`` rows of its
    whole months and the ``daily`` rows of its edge days, in one query."""
    fields = {f"s_{name}": F(column) for name, column in sums.items()}
    querysets = _in_parts(monthly, daily, parts, filters)
    if group:
        querysets = tuple(q.annotate(g=F(group), **fields).values("g", *fields) for q in querysets)
    else:
        querysets = tuple(q.annotate(**fields).values(*fields) for q in querysets)
    sql, params = _union_sql(querysets)
    selected = ", ".join(f"SUM(s_{name})" for name in sums)
    with connection.cursor() as cursor:
        if group:
            cursor.execute(f"SELECT g, {selected} FROM ({sql}) facts GROUP BY g", params)  # noqa: S608
        else:
            cursor.execute(f"SELECT NULL, {selected} FROM ({sql}) facts", params)  # noqa: S608
        rows = cursor.fetchall()
    return {
        row[0]: {
            name: money(value) if name in SUMS_MONEY else int(value or 0)
            for name, value in zip(sums, row[1:], strict=True)
        }
        for row in rows
    }


def _shop_sums(
    parts: PeriodParts, filters: SalesFilters, group: str | None, sums: dict[str, str] = SHOP_SUMS
) -> dict:
    """The shops' figures (``sums``, all of ``SHOP_SUMS`` by default) over the period per ``group``, in
    one query."""
    return _period_sums(SalesMonth.objects, SalesDay.objects, parts, filters, group, sums)


# The chain scope of each way of grouping shops, and the column of a chain row that names its group.
PLACE_SCOPES = {
    "shop__village_id": BuyerSalesChain.Scope.VILLAGE,
    "shop__town_id": BuyerSalesChain.Scope.TOWN,
    "shop__county_id": BuyerSalesChain.Scope.COUNTY,
}
PLACE_OF_SCOPE = {"village": "village_id", "town": "town_id", "county": "county_id"}
# The chains built with the shops' places (stale once a shop moves): by place, and by place and a
# category's tree (``CHAIN_TREE_OF``; over all shops a category's tree is ``CATEGORY_TREE``, its unit the
# category).
BY_PLACE = {*PLACE_OF_SCOPE, *(CHAIN_TREE_OF[scope] for scope in PLACE_OF_SCOPE)}
# The column of a chain row that names its unit (shop, category), for the scopes not by place.
UNIT_COLUMN = {
    BuyerSalesChain.Scope.SHOP: "shop_id",
    BuyerSalesChain.Scope.SHOP_TREE: "shop_id",
    BuyerSalesChain.Scope.CATEGORY: "category_id",
    BuyerSalesChain.Scope.CATEGORY_TREE: "category_id",
}
# The group key of the row that says whether the chains by place are current (see ``_chain_counts``).
STALE = -1


@dataclass(frozen=True)
class ChainPlan:
    """Which chains count a review's repeat buyers: ``scope``, grouped by ``column`` ("shop_id",
    "place_id" or None for one count) and limited to the groups ``units`` (None: every group) and, for
    the chains of a category's tree by shop or place, to the rows of ``category``."""

    scope: str
    column: str | None
    units: tuple[int, ...] | None
    category: int | None = None


def _filtered_shops(filters: SalesFilters, choices: Choices) -> list[Any]:
    return [
        shop
        for shop in choices.shops
        if all(
            value is None or getattr(shop, name) == value
            for name, value in (
                ("county_id", filters.county_id),
                ("town_id", filters.town_id),
                ("village_id", filters.village_id),
                ("pk", filters.shop_id),
            )
        )
    ]


def _chain_plan(  # noqa: PLR0911
    group: str | None, filters: SalesFilters, choices: Choices
) -> ChainPlan | None:
    """How the chains answer repeat buyers per ``group`` under ``filters``; None when they cannot (a
    place cut by the filters, e.g. by county within one town): then each buyer's sales are summed."""
    filtered = any(v is not None for v in (filters.county_id, filters.town_id, filters.village_id))
    chosen = {shop.pk for shop in _filtered_shops(filters, choices)}
    if group == "shop_id":
        units = tuple(sorted(chosen)) if filtered or filters.shop_id is not None else None
        return ChainPlan(BuyerSalesChain.Scope.SHOP, "shop_id", units)
    if group is None and filters.shop_id is not None:
        return ChainPlan(BuyerSalesChain.Scope.SHOP, None, tuple(sorted(chosen)))
    if group is None and not filtered:
        return ChainPlan(BuyerSalesChain.Scope.ALL, None, None)
    # Grouped by a place, or in all within a place: every group counted must lie wholly in the filter.
    if group is None:
        level = next(
            scope
            for value, scope in (
                (filters.village_id, BuyerSalesChain.Scope.VILLAGE),
                (filters.town_id, BuyerSalesChain.Scope.TOWN),
                (filters.county_id, BuyerSalesChain.Scope.COUNTY),
            )
            if value is not None
        )
    else:
        level = PLACE_SCOPES[group]
    members: dict[int, set[int]] = defaultdict(set)
    for shop in choices.shops:
        place = getattr(shop, PLACE_OF_SCOPE[level])
        if place is not None:
            members[place].add(shop.pk)
    whole = tuple(sorted(place for place, shops in members.items() if shops <= chosen))
    cut = any(shops & chosen and not shops <= chosen for shops in members.values())
    # Shops in no place of the level make the chains' group None, which a filter would cut too.
    unplaced = filtered and any(
        getattr(shop, PLACE_OF_SCOPE[level]) is None for shop in choices.shops if shop.pk in chosen
    )
    if cut or unplaced:
        return None
    if group is None:
        if not chosen:
            return ChainPlan(level, None, ())
        if len(whole) != 1 or members[whole[0]] != chosen:
            return None
        return ChainPlan(level, None, whole)
    return ChainPlan(level, "place_id", whole if filtered else None)


def _chain_counts(period: Period, plan: ChainPlan) -> dict | None:
    """Repeat buyers of ``period`` per group of ``plan``, exactly, in one query; None when the chains by
    place are not current (a shop moved since they were built).

    A buyer made two sales in [S, E] when its first chain row on or after S has its second sale by E.
    With a month start M in the period (the first on or after S) those rows are counted in three parts,
    each read by an index range that holds little more than the buyers counted: the rows of the days S to
    M - 1 (the head: at most a month of rows); the buyers' rows as seen from M
    (``BuyerSalesChainMonth``) whose previous sale was before S; and the buyers' first rows ever, on or
    after M. Without one (a period within a month) the rows whose second sale falls in the period."""
    chains, months = BuyerSalesChain._meta.db_table, BuyerSalesChainMonth._meta.db_table
    start, end = period.start, period.end
    first_month = start if start.day == 1 else month_after(start)
    column = plan.column or "CAST(NULL AS INTEGER)"
    units, unit_params = "", []
    if plan.units is not None:
        if not plan.units:
            return {}
        unit_column = plan.column or UNIT_COLUMN.get(plan.scope, "place_id")
        units = f" AND {unit_column} IN ({', '.join(['%s'] * len(plan.units))})"
        unit_params = list(plan.units)
    if plan.category is not None:
        units += " AND category_id = %s"
        unit_params.append(plan.category)
    if first_month <= end:
        head_end = first_month - datetime.timedelta(days=1)
        parts = [
            (
                f"SELECT {column} AS g FROM {chains} WHERE scope = %s AND second_day IS NOT NULL "  # noqa: S608
                "AND day >= %s AND day <= %s AND (previous_day IS NULL OR previous_day < %s) "
                f"AND second_day <= %s{units}",
                [plan.scope, start, head_end, start, end, *unit_params],
            ),
            (
                f"SELECT {column} AS g FROM {months} WHERE scope = %s AND month = %s AND second_day <= %s "  # noqa: S608
                f"AND previous_day < %s{units}",
                [plan.scope, first_month, end, start, *unit_params],
            ),
            (
                f"SELECT {column} AS g FROM {chains} WHERE scope = %s AND second_day IS NOT NULL "  # noqa: S608
                "AND previous_day IS NULL AND second_day >= %s AND second_day <= %s AND day >= %s"
                f"{units}",
                [plan.scope, first_month, end, first_month, *unit_params],
            ),
        ]
    else:
        parts = [
            (
                f"SELECT {column} AS g FROM {chains} WHERE scope = %s AND second_day IS NOT NULL "  # noqa: S608
                "AND second_day >= %s AND second_day <= %s AND day >= %s "
                f"AND (previous_day IS NULL OR previous_day < %s){units}",
                [plan.scope, start, end, start, start, *unit_params],
            )
        ]
    sql = " UNION ALL ".join(part for part, _params in parts)
    params = [param for _part, more in parts for param in more]
    sql = f"SELECT g, COUNT(*) FROM ({sql}) repeat_rows GROUP BY g"  # noqa: S608
    by_place = plan.scope in BY_PLACE
    if by_place:
        # Whether any shop's places differ from those the chains by place were built with.
        shops, places = Partner._meta.db_table, ChainPlace._meta.db_table
        moved = " OR ".join(
            f"COALESCE(s.{name}, 0) <> COALESCE(c.{name}, 0)"
            for name in ("village_id", "town_id", "county_id")
        )
        sql += (
            f" UNION ALL SELECT {STALE}, COUNT(*) FROM {shops} s LEFT JOIN {places} c "  # noqa: S608
            f"ON c.shop_id = s.id WHERE {moved}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = dict(cursor.fetchall())
    if by_place and counts.pop(STALE, 0):
        return None
    return counts


def _shop_repeat_buyers(
    period: Period, parts: PeriodParts, filters: SalesFilters, group: str | None, choices: Choices
) -> dict:
    """Per group, the buyers with 2 or more sales in the period, exactly: from the buyers' chains by
    shop, by place or over all shops (one query; its cost grows with the period's repeat buyers, not its
    sales); when they cannot answer (a place cut by the filters, or a shop moved since the chains by place
    were built), each buyer's sales summed over the whole months (``BuyerSalesMonth``) and the edge days
    (``BuyerSalesDay``), in one more query."""
    plan = _chain_plan(group, filters, choices)
    counts = _chain_counts(period, plan) if plan is not None else None
    if counts is not None:
        return counts
    querysets = _in_parts(BuyerSalesMonth.objects, BuyerSalesDay.objects, parts, filters)
    if group:
        querysets = tuple(q.annotate(g=F(group)).values("g", "buyer_key", "sales") for q in querysets)
    else:
        querysets = tuple(q.values("buyer_key", "sales") for q in querysets)
    sql, params = _union_sql(querysets)
    with connection.cursor() as cursor:
        if group:
            cursor.execute(
                "SELECT g, COUNT(*) FROM (SELECT g FROM ("  # noqa: S608
                f"{sql}) buyer_facts GROUP BY g, buyer_key HAVING SUM(sales) >= 2) repeat_buyers GROUP BY g",
                params,
            )
            return dict(cursor.fetchall())
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT buyer_key FROM ("  # noqa: S608
            f"{sql}) buyer_facts GROUP BY buyer_key HAVING SUM(sales) >= 2) repeat_buyers",
            params,
        )
        return {None: cursor.fetchone()[0]}


def _category_chain_plan(
    dimension: str | None, filters: SalesFilters, categories: list[int] | None, choices: Choices
) -> ChainPlan | None:
    """How the buyers' chains answer repeat buyers by category (``dimension`` CATEGORY, within
    ``categories`` when a category filter gives them; the chains by category over all shops), or of a
    category filter's tree, in all or by shop or place: the plan of the same view without the category
    (``_chain_plan``) on the chains of the category's tree at the same shops or places. None when they
    cannot: by category under a shop or place filter (no chains by shop or place and primary category),
    or where ``_chain_plan`` cannot (a place cut by the filters)."""
    if dimension == CATEGORY:
        narrowed = (filters.county_id, filters.town_id, filters.village_id, filters.shop_id)
        if any(v is not None for v in narrowed):
            return None
        units = tuple(categories) if categories is not None else None
        return ChainPlan(BuyerSalesChain.Scope.CATEGORY, "category_id", units)
    if filters.category_id is None or (dimension is not None and dimension not in SHOP_DIMENSIONS):
        return None
    plan = _chain_plan(SHOP_DIMENSIONS[dimension] if dimension else None, filters, choices)
    if plan is None:
        return None
    if plan.scope == BuyerSalesChain.Scope.ALL:
        return ChainPlan(BuyerSalesChain.Scope.CATEGORY_TREE, None, (filters.category_id,))
    return replace(plan, scope=CHAIN_TREE_OF[plan.scope], category=filters.category_id)


def _scoped(queryset: QuerySet[Any], period: Period, filters: SalesFilters) -> QuerySet[Any]:
    """The daily facts of every day of ``period``."""
    return _shops_filtered(queryset.filter(day__gte=period.start, day__lte=period.end), filters)


def _repeat_buyers(queryset: QuerySet[Any], group: str | None) -> dict:
    """Per group, how many buyers made 2 or more sales in it (one query: the buyers' sales are summed
    and counted in the database)."""
    fields = ["g", "buyer_key"] if group else ["buyer_key"]
    if group:
        queryset = queryset.annotate(g=F(group))
    inner = queryset.values(*fields).annotate(n=Sum("sales")).filter(n__gte=2).values(*fields)
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        if group:
            cursor.execute(f"SELECT g, COUNT(*) FROM ({sql}) repeat_buyers GROUP BY g", params)  # noqa: S608
            return dict(cursor.fetchall())
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) repeat_buyers", params)  # noqa: S608
        return {None: cursor.fetchone()[0]}


def _figures(
    period: Period,
    filters: SalesFilters,
    dimension: str | None,
    choices: Choices,
    *,
    buyers: bool = True,
    net_only: bool = False,
) -> tuple[dict[object, Figures], Figures | None]:
    """Figures per group of ``dimension`` (None: one group, everything), and for the category and product
    breakdowns without a category filter, the row of shipping and refunds not itemised. Without
    ``buyers``, repeat buyers are not counted (None), which saves their query; with ``net_only`` (which
    implies no ``buyers``) only what the net is made of is read (goods, shipping, refunds): the other
    figures are left at zero."""
    categories = _subtree(filters.category_id, choices) if filters.category_id is not None else None
    group = SHOP_DIMENSIONS.get(dimension) if dimension else None
    if dimension == CATEGORY:
        group = "category_id"
    elif dimension == PRODUCT:
        group = "product_id"
    parts = period_parts(period)
    unitemised = None
    if categories is not None or dimension in (CATEGORY, PRODUCT):
        money, orders, repeat = _product_figures(
            period,
            parts,
            filters,
            dimension,
            group,
            categories,
            choices,
            buyers=buyers and not net_only,
            net_only=net_only,
        )
        if categories is None:
            shop_totals = _shop_sums(parts, filters, None).get(None, {})
            unitemised = Figures(
                key=UNITEMISED,
                label=str(_("Shipping and refunds not itemised")),
                orders=None,
                units=None,
                shipping=shop_totals.get("shipping") or ZERO,
                refunds=(shop_totals.get("refunds") or ZERO) - (shop_totals.get("refunds_itemised") or ZERO),
                repeat_buyers=None,
            )
    else:
        money = _shop_sums(parts, filters, group, SHOP_NET_SUMS if net_only else SHOP_SUMS)
        orders = {key: row.get("sales", 0) for key, row in money.items()}
        repeat = (
            _shop_repeat_buyers(period, parts, filters, group, choices) if buyers and not net_only else None
        )
    figures = {}
    for key in set(money) | set(orders):
        row = money.get(key, {})
        figures[key] = Figures(
            key=key,
            orders=orders.get(key) or 0,
            units=row.get("units") or 0,
            goods=row.get("goods") or ZERO,
            shipping=row.get("shipping") or ZERO,
            presale_goods=row.get("presale_goods") or ZERO,
            refunds=row.get("refunds") or ZERO,
            repeat_buyers=None if repeat is None else repeat.get(key, 0),
        )
    return figures, unitemised


def _product_figures(  # noqa: PLR0913
    period: Period,
    parts: PeriodParts,
    filters: SalesFilters,
    dimension: str | None,
    group: str | None,
    categories: list[int] | None,
    choices: Choices,
    *,
    buyers: bool,
    net_only: bool,
) -> tuple[dict, dict, dict | None]:
    """By category or product, or within ``categories`` (a category filter's): the money per group (no
    shipping: it belongs to no product), the sales per group (of a product: those that held it; of a
    category: those that held one of its products; with ``net_only`` not read, the products' counts
    instead) and the repeat buyers (None by product, or without ``buyers``)."""
    products_monthly, products_daily = ProductSalesMonth.objects.all(), ProductSalesDay.objects.all()
    if categories is not None:
        products_monthly = products_monthly.filter(category_id__in=categories)
        products_daily = products_daily.filter(category_id__in=categories)
    sums = PRODUCT_NET_SUMS if net_only else PRODUCT_SUMS
    money = _period_sums(products_monthly, products_daily, parts, filters, group, sums)
    if dimension == PRODUCT or net_only:
        return money, {key: row.get("sales", 0) for key, row in money.items()}, None
    if dimension == CATEGORY:
        by_scope = Q(scope=CategorySalesDay.Scope.OWN)
        if categories is not None:
            by_scope &= Q(category_id__in=categories)
    else:
        by_scope = Q(scope=CategorySalesDay.Scope.TREE, category_id=filters.category_id)
    monthly, daily = CategorySalesMonth.objects.filter(by_scope), CategorySalesDay.objects.filter(by_scope)
    sold = _period_sums(monthly, daily, parts, filters, group, {"sales": "sales"})
    orders = {key: row["sales"] for key, row in sold.items()}
    repeat = None
    if buyers:
        plan = _category_chain_plan(dimension, filters, categories, choices)
        repeat = _chain_counts(period, plan) if plan is not None else None
        if repeat is None:
            repeat = _repeat_buyers(_scoped(daily, period, filters), group)
    return money, orders, repeat


def _totals(period: Period, filters: SalesFilters, choices: Choices) -> Figures:
    figures, _unitemised = _figures(period, filters, None, choices)
    return figures.get(None) or Figures()


def _daily(period: Period, filters: SalesFilters, choices: Choices) -> list[tuple[datetime.date, Decimal]]:
    """Net sales per day of ``period`` (every day, zero where nothing happened)."""
    if filters.category_id is not None:
        rows = _scoped(ProductSalesDay.objects, period, filters).filter(
            category_id__in=_subtree(filters.category_id, choices)
        )
        nets = dict(
            rows.values("day").annotate(n=Sum("goods") - Sum("refunds_itemised")).values_list("day", "n")
        )
    else:
        rows = _scoped(SalesDay.objects, period, filters)
        nets = dict(
            rows.values("day")
            .annotate(n=Sum("goods") + Sum("shipping") - Sum("refunds"))
            .values_list("day", "n")
        )
    return [(day, Decimal(nets.get(day) or 0).quantize(CENT)) for day in period.each_day()]


def _labels(keys: Iterable[Any], dimension: str, choices: Choices) -> dict[Any, str]:
    if dimension == SHOP:
        return choices.shop_names
    if dimension in (VILLAGE, TOWN, COUNTY):
        return choices.region_names
    if dimension == CATEGORY:
        return choices.category_names
    # Only the names (a product's, else its parent's, as ``Product.get_title``): a month by product can
    # name thousands of products, and whole rows with their parents cost several times as much.
    names = Product.objects.filter(pk__in=[k for k in keys if k is not None]).values_list(
        "pk", "title", "title_en", "parent__title", "parent__title_en"
    )
    return {
        pk: pick(title, title_en) or pick(p_title, p_title_en)
        for pk, title, title_en, p_title, p_title_en in names
    }


@contextmanager
def _planned_serially() -> Iterator[None]:
    """The review's queries planned without parallel workers, in a transaction of their own (``SET
    LOCAL``: nothing outlives it, behind pgbouncer too). Each reads index ranges of thousands to tens of
    thousands of rows, and PostgreSQL planned most of them with two parallel workers started for each
    query: on a 2-core machine a year's review by category took ~90 ms more, a category filter by shop
    ~200 ms more, than planned serially (docs/performance.md), and under load those workers take the
    cores other requests need."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def sales_review(
    *,
    period: Period,
    filters: SalesFilters,
    dimension: str,
    choices: Choices | None = None,
    totals: bool = True,
    daily: bool = True,
    buyers: bool = True,
) -> SalesReview:
    """What the sales review page shows for ``period``. The chart and the exports ask for less: without
    ``totals`` the three periods' totals (and comparisons) are left empty, without ``daily`` the series
    per day, without ``buyers`` the rows' repeat buyers (None); each saves its queries."""
    choices = choices or review_choices()
    with _planned_serially():
        return _sales_review(
            period=period,
            filters=filters,
            dimension=dimension,
            choices=choices,
            totals=totals,
            daily=daily,
            buyers=buyers,
        )


def _sales_review(  # noqa: PLR0913
    *,
    period: Period,
    filters: SalesFilters,
    dimension: str,
    choices: Choices,
    totals: bool,
    daily: bool,
    buyers: bool,
) -> SalesReview:
    previous, last_year = period.previous(), period.last_year()
    figures, unitemised = _figures(period, filters, dimension, choices, buyers=buyers)
    # Of the previous period the table shows net sales only.
    previous_figures, previous_unitemised = _figures(previous, filters, dimension, choices, net_only=True)
    labels = _labels(figures, dimension, choices)
    none_label = str(_("Deleted product")) if dimension == PRODUCT else str(_("Not set"))
    rows = []
    for key, row in figures.items():
        row.label = labels.get(key, none_label) if key is not None else none_label
        rows.append(Row(row, previous_figures[key].net if key in previous_figures else ZERO))
    rows.sort(key=lambda r: (-r.figures.net, r.figures.label))
    if unitemised is not None and (unitemised.gross or unitemised.refunds or previous_unitemised.net):
        rows.append(Row(unitemised, previous_unitemised.net))
    if totals:
        current_totals = _totals(period, filters, choices)
        totals_previous = _totals(previous, filters, choices)
        totals_last_year = _totals(last_year, filters, choices)
    else:
        current_totals = totals_previous = totals_last_year = Figures()
    review = SalesReview(
        period=period,
        previous=previous,
        last_year=last_year,
        dimension=dimension,
        filters=filters,
        totals=current_totals,
        totals_previous=totals_previous,
        totals_last_year=totals_last_year,
        rows=rows,
        daily=_daily(period, filters, choices) if daily else [],
    )
    if totals:
        review.comparisons = [
            Comparison(
                metric,
                label,
                getattr(current_totals, metric),
                getattr(totals_previous, metric),
                getattr(totals_last_year, metric),
            )
            for metric, label in METRICS
        ]
    return review

"""Open data: sales per month by county, by village and by category, for anyone, from the daily facts.
No personal data, and no figure for a group of fewer than 3 shops. Because a hidden figure could be
worked out by subtracting the published rows from a total (a county minus its other villages, or the
month's total minus the other counties or categories), more rows are withheld until what is hidden in
each breakdown comes from at least 3 shops together; no total is published at all."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.money import money
from shops.sales.models import CategorySalesDay, ProductSalesDay, SalesDay
from shops.sales.selectors import category_roots

Partner = get_model("partner", "Partner")
Region = get_model("places", "Region")
if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category
else:
    Category = get_model("catalogue", "Category")

FEWEST_SHOPS = 3
MONTHS = 24
CACHE_KEY = "sales:open-data:v1"
CACHE_SECONDS = 600
ZERO = Decimal("0.00")
FEW_SHOPS = "few_shops"
PROTECTS_ANOTHER = "protects_another"
NOTES = {
    FEW_SHOPS: _("fewer than 3 shops"),
    PROTECTS_ANOTHER: _("withheld: it would reveal a group of fewer than 3 shops"),
}


@dataclass
class OpenRow:
    name: str
    code: str = ""
    county: str = ""  # the village's county, on village rows
    shops: set = field(default_factory=set, repr=False)
    orders: int = 0
    units: int = 0
    gross: Decimal = ZERO
    net: Decimal = ZERO
    withheld: str = ""  # FEW_SHOPS or PROTECTS_ANOTHER

    @property
    def note(self) -> str:
        return str(NOTES[self.withheld]) if self.withheld else ""

    def published(self) -> dict:
        """What anyone may see of the row: the figures, or nulls and why."""
        hidden = bool(self.withheld)
        row = {"name": self.name, "code": self.code}
        if self.county:
            row["county"] = self.county
        row.update(
            orders=None if hidden else self.orders,
            units=None if hidden else self.units,
            gross=None if hidden else str(self.gross),
            net=None if hidden else str(self.net),
            withheld=self.withheld or None,
            note=self.note,
        )
        return row


@dataclass
class OpenMonth:
    month: datetime.date
    by_county: list[OpenRow]
    by_village: list[OpenRow]
    by_category: list[OpenRow]

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"


def rows_withhold(rows: list[OpenRow], *, unlisted_shops: set) -> None:
    """Withhold the rows of fewer than 3 shops; then, while what is not published in this breakdown
    (withheld rows and the shops in no row, ``unlisted_shops``) comes from 1 or 2 shops, withhold the
    smallest published row too, so subtracting from a total reveals only a group of 3 shops or more."""
    for row in rows:
        if len(row.shops) < FEWEST_SHOPS:
            row.withheld = FEW_SHOPS
    while True:
        hidden = set(unlisted_shops).union(*(row.shops for row in rows if row.withheld))
        published = [row for row in rows if not row.withheld]
        if not hidden or len(hidden) >= FEWEST_SHOPS or not published:
            return
        smallest = min(published, key=lambda row: (len(row.shops), row.gross, row.code, row.name))
        smallest.withheld = PROTECTS_ANOTHER


def _open_data() -> list[OpenMonth]:  # noqa: PLR0915
    shops = {
        pk: (county_id, village_id)
        for pk, county_id, village_id in Partner.objects.values_list("pk", "county_id", "village_id")
    }
    regions = {
        r.pk: r
        for r in Region.objects.filter(pk__in={r for pair in shops.values() for r in pair if r is not None})
    }
    categories = {c.pk: c for c in Category.objects.all()}
    roots = category_roots(categories.values())

    def root(category_id: int) -> "Category | None":
        return roots.get(category_id)

    recent = SalesDay.objects.order_by("-day").values_list("day", flat=True).first()
    if recent is None:
        return []
    first_month = (recent.replace(day=1) - datetime.timedelta(days=31 * (MONTHS - 1))).replace(day=1)
    shop_months = (
        SalesDay.objects.filter(day__gte=first_month)
        .annotate(month=TruncMonth("day"))
        .values("month", "shop_id")
        .annotate(
            sales=Sum("sales"),
            units=Sum("units"),
            goods=Sum("goods"),
            shipping=Sum("shipping"),
            refunds=Sum("refunds"),
        )
    )
    product_months = (
        ProductSalesDay.objects.filter(day__gte=first_month)
        .annotate(month=TruncMonth("day"))
        .values("month", "shop_id", "category_id")
        .annotate(units=Sum("units"), goods=Sum("goods"), refunds=Sum("refunds_itemised"))
    )
    category_orders = (
        CategorySalesDay.objects.filter(day__gte=first_month, scope=CategorySalesDay.Scope.TREE)
        .annotate(month=TruncMonth("day"))
        .values("month", "category_id")
        .annotate(sales=Sum("sales"))
    )
    months: dict[datetime.date, dict[str, dict]] = {}

    def month_of(value: datetime.date) -> dict[str, dict[str, Any]]:
        key = value.date() if isinstance(value, datetime.datetime) else value
        return months.setdefault(key, {"county": {}, "village": {}, "category": {}, "unlisted": {}})

    uncategorised = str(_("Uncategorised"))
    for row in shop_months:
        month = month_of(row["month"])
        county_id, village_id = shops.get(row["shop_id"], (None, None))
        gross = money(row["goods"]) + money(row["shipping"])
        for level, key, region_id in (
            ("county", county_id, county_id),
            ("village", (county_id, village_id), village_id),
        ):
            if region_id is None:
                month["unlisted"].setdefault(level, set()).add(row["shop_id"])
                continue
            region = regions[region_id]
            county = regions[county_id].display_name if level == "village" and county_id else ""
            group = month[level].setdefault(
                key, OpenRow(name=region.display_name, code=region.code, county=county)
            )
            group.shops.add(row["shop_id"])
            group.orders += row["sales"] or 0
            group.units += row["units"] or 0
            group.gross += gross
            group.net += gross - money(row["refunds"])
    for row in product_months:
        month = month_of(row["month"])
        category = root(row["category_id"])
        key = category.pk if category else None
        group = month["category"].setdefault(
            key,
            OpenRow(
                name=category.display_name if category else uncategorised,
                code=category.slug if category else "",
            ),
        )
        group.shops.add(row["shop_id"])
        group.units += row["units"] or 0
        group.gross += money(row["goods"])
        group.net += money(row["goods"]) - money(row["refunds"])
    for row in category_orders:
        category = categories.get(row["category_id"])
        if row["category_id"] is not None and (category is None or category.depth != 1):
            continue  # only the top-level categories are published
        group = month_of(row["month"])["category"].get(row["category_id"])
        if group is not None:
            group.orders += row["sales"] or 0
    result = []
    for month_start, groups in sorted(months.items(), reverse=True):
        for level in ("county", "category"):
            rows_withhold(list(groups[level].values()), unlisted_shops=groups["unlisted"].get(level, set()))
        # Within each county, its villages must not reveal one another (nor the county's shops in no village).
        by_village = []
        for county_id in sorted(groups["county"], key=lambda pk: (regions[pk].code, regions[pk].name)) + [
            None
        ]:
            county_shops = groups["county"][county_id].shops if county_id else set()
            villages = [row for (county, _village), row in groups["village"].items() if county == county_id]
            listed = set().union(*(row.shops for row in villages))
            rows_withhold(villages, unlisted_shops=county_shops - listed)
            by_village.extend(sorted(villages, key=lambda r: (r.code, r.name)))
        by_county = sorted(groups["county"].values(), key=lambda r: (r.code, r.name))
        by_category = sorted(
            groups["category"].values(), key=lambda r: (r.name == uncategorised, r.code, r.name)
        )
        result.append(OpenMonth(month_start, by_county, by_village, by_category))
    return result


def open_data() -> list[OpenMonth]:
    """The published months, newest first (kept in the cache for a few minutes, per language: the rows
    carry the places' and categories' names in it)."""
    return cache.get_or_set(f"{CACHE_KEY}:{get_language()}", _open_data, CACHE_SECONDS)

"""Building the daily sales facts from the sales ledger (``marketplace.ledger``): a sale counts on the
Asia/Shanghai day it was paid, a refund on the day it was made, once it succeeded; the order lines give
each sale's products and categories.
``sales_facts_refresh`` recomputes one day (for some shops or all) by delete + insert in one
transaction, holding the shops' rows locked so two refreshes of the same shop and day run one after
the other, and then that day's month in the monthly roll-ups (``SalesMonth``, ``BuyerSalesMonth``,
``ProductSalesMonth``, ``CategorySalesMonth``: the sums of the month's daily rows, recomputed from them)
and the chains of that day's buyers by shop, by the shops' places, over all shops and by category over
all shops, with their rows as seen from each month start
(``BuyerSalesChain``, ``BuyerSalesChainMonth``: for repeat buyers over any period). Running it twice
changes nothing the second time."""

import datetime
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, Min, Model, Q, QuerySet
from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.ledger.models import SaleEntry
from marketplace.local_dates import month_after, month_first, month_last
from marketplace.locks import for_update
from marketplace.payments.models import RefundLine
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
    SaleCounted,
    SalesDay,
    SalesFactsPending,
    SalesMonth,
)

Partner = get_model("partner", "Partner")
Line = get_model("order", "Line")
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")
ZERO = Decimal("0.00")
FACTS_VERSION_KEY = "sales-facts-version"


def facts_version() -> str:
    """A token that changes whenever any fact changes: what is drawn from the facts (the charts) is
    cached under it."""
    return cast(str, cache.get_or_set(FACTS_VERSION_KEY, lambda: uuid.uuid4().hex, None))


def _facts_changed() -> None:
    transaction.on_commit(lambda: cache.set(FACTS_VERSION_KEY, uuid.uuid4().hex, None))


def buyer_key(*, user_id: int | None, email: str) -> str:
    """Who bought, for counting repeat buyers only: a user's id, or a one-way hash of a guest's e-mail."""
    if user_id is not None:
        return f"u{user_id}"
    return "g" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


@dataclass
class _ProductDay:
    category_id: int | None
    sales: set = field(default_factory=set)
    units: int = 0
    goods: Decimal = ZERO
    presale_goods: Decimal = ZERO
    refunds_itemised: Decimal = ZERO


@dataclass
class _ShopDay:
    sales: int = 0
    units: int = 0
    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    presale_goods: Decimal = ZERO
    refunds: Decimal = ZERO
    refunds_itemised: Decimal = ZERO
    products: dict = field(default_factory=dict)  # product id → _ProductDay
    buyers: dict = field(default_factory=lambda: defaultdict(int))  # buyer key → sales
    # (category id, scope, buyer key) → shop order ids containing it
    categories: dict = field(default_factory=lambda: defaultdict(set))


class _Categories:
    """Each product's primary category (the first by tree order, as the farmer console shows it; a
    variant takes its parent's) and each category's ancestors, for the products of one day."""

    def __init__(self, product_parents: dict[int, int | None]) -> None:
        owners = {pid: parent or pid for pid, parent in product_parents.items()}
        primary: dict[int, int] = {}
        rows = (
            ProductCategory.objects.filter(product_id__in=set(owners.values()))
            .order_by("category__path", "pk")
            .values_list("product_id", "category_id")
        )
        for owner_id, category_id in rows:
            primary.setdefault(owner_id, category_id)
        self.primary = {pid: primary.get(owner) for pid, owner in owners.items()}
        self.tree: dict[int, list[int | None]] = {}
        used = {c for c in self.primary.values() if c is not None}
        if used:
            paths = dict(Category.objects.filter(pk__in=used).values_list("pk", "path"))
            step = Category.steplen
            prefixes = {p[:n] for p in paths.values() for n in range(step, len(p) + 1, step)}
            by_path = dict(Category.objects.filter(path__in=prefixes).values_list("path", "pk"))
            for pk, path in paths.items():
                self.tree[pk] = [by_path[path[:n]] for n in range(step, len(path) + 1, step)]

    def of(self, product_id: int | None) -> int | None:
        return self.primary.get(product_id) if product_id is not None else None

    def with_ancestors(self, category_id: int | None) -> list[int | None]:
        return self.tree.get(category_id, [category_id]) if category_id is not None else [None]


def _entries(since: datetime.date | None = None, until: datetime.date | None = None) -> QuerySet[SaleEntry]:
    """The ledger's rows (sales and refunds) of the days ``since`` to ``until``, inclusive."""
    entries = SaleEntry.objects.all()
    if since is not None:
        entries = entries.filter(day__gte=since)
    if until is not None:
        entries = entries.filter(day__lte=until)
    return entries


def _shop_days(
    day: datetime.date, shop_ids: list[int] | None, *, only_sales: set[int] | None = None
) -> tuple[dict[int, _ShopDay], list[tuple[int, int]]]:
    """The facts of ``day`` for ``shop_ids`` (every shop when None), with the sales read (shop order id,
    shop id). ``only_sales``: the facts of those sales (shop order ids) alone, without the day's refunds:
    what they add to the day's facts."""
    entries = _entries(day, day)
    if shop_ids is not None:
        entries = entries.filter(shop_id__in=shop_ids)
    if only_sales is not None:
        entries = entries.filter(shop_order_id__in=only_sales)
    sales = list(
        entries.filter(kind=SaleEntry.Kind.SALE).values_list(
            "shop_order_id",
            "shop_id",
            "shop_order__order_id",
            "shipping",
            "shop_order__order__user_id",
            "shop_order__order__guest_email",
        )
    )
    sale_of = {(order_id, shop_id): (pk, shipping) for pk, shop_id, order_id, shipping, *_ in sales}
    lines = list(
        Line.objects.filter(order_id__in={s[2] for s in sales}, partner_id__in={s[1] for s in sales})
        .values_list(
            "order_id",
            "partner_id",
            "product_id",
            "product__parent_id",
            "quantity",
            "line_price_incl_tax",
            "product__presale_ship_from",
            "product__parent__presale_ship_from",
        )
        .order_by("pk")
    )
    # A refund row's amount is negative in the ledger: the facts keep what was paid back.
    refund_rows = (
        []
        if only_sales is not None
        else [
            (refund_id, shop_id, -amount)
            for refund_id, shop_id, amount in entries.filter(kind=SaleEntry.Kind.REFUND).values_list(
                "refund_id", "shop_id", "amount"
            )
        ]
    )
    refund_lines = list(
        RefundLine.objects.filter(refund_id__in=[r[0] for r in refund_rows]).values_list(
            "refund_id", "line__product_id", "line__product__parent_id", "amount"
        )
    )
    parents = {line[2]: line[3] for line in lines if line[2] is not None}
    parents.update({rl[1]: rl[2] for rl in refund_lines if rl[1] is not None})
    categories = _Categories(parents)

    days: dict[int, _ShopDay] = defaultdict(_ShopDay)
    buyer_of = {}
    for pk, shop_id, _order_id, shipping, user_id, email in sales:
        facts = days[shop_id]
        facts.sales += 1
        facts.shipping += shipping
        buyer_of[pk] = buyer_key(user_id=user_id, email=email or "")
        facts.buyers[buyer_of[pk]] += 1
    for order_id, shop_id, product_id, _parent, quantity, price, ship_from, parent_ship_from in lines:
        sale = sale_of.get((order_id, shop_id))
        if sale is None:
            continue  # a line of another shop of the same order: not this shop's sale
        sale_id = sale[0]
        facts = days[shop_id]
        ships_from = ship_from or parent_ship_from
        presale = price if ships_from is not None and ships_from > day else ZERO
        category_id = categories.of(product_id)
        product = facts.products.setdefault(product_id, _ProductDay(category_id=category_id))
        product.sales.add(sale_id)
        product.units += quantity
        product.goods += price
        product.presale_goods += presale
        facts.units += quantity
        facts.goods += price
        facts.presale_goods += presale
        facts.categories[(category_id, CategorySalesDay.Scope.OWN, buyer_of[sale_id])].add(sale_id)
        for tree_id in categories.with_ancestors(category_id):
            facts.categories[(tree_id, CategorySalesDay.Scope.TREE, buyer_of[sale_id])].add(sale_id)
    shop_of_refund = {}
    for pk, shop_id, amount in refund_rows:
        days[shop_id].refunds += amount
        shop_of_refund[pk] = shop_id
    for refund_id, product_id, _parent, amount in refund_lines:
        facts = days[shop_of_refund[refund_id]]
        category_id = categories.of(product_id)
        product = facts.products.setdefault(product_id, _ProductDay(category_id=category_id))
        product.refunds_itemised += amount
        facts.refunds_itemised += amount
    return days, [(pk, shop_id) for pk, shop_id, *_ in sales]


def _shops_lock(shop_ids: list[int] | None) -> None:
    # FOR NO KEY UPDATE: two refreshes of a shop still queue, but checkout's inserts that point at the
    # shop (order lines, shop orders take FOR KEY SHARE on it) are not held up while the facts are built.
    locked = for_update(Partner.objects.all(), no_key=True).order_by("pk")
    if shop_ids is not None:
        locked = locked.filter(pk__in=shop_ids)
    list(locked.values_list("pk", flat=True))


# The monthly roll-ups are sums of the daily rows: one INSERT … SELECT … GROUP BY each, in the database.
# Each: the month's model, the day's, the columns a row is kept per, and the columns summed.
_ROLLUPS: tuple[tuple[type[Model], type[Model], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        SalesMonth,
        SalesDay,
        ("shop_id",),
        ("sales", "units", "goods", "shipping", "presale_goods", "refunds", "refunds_itemised"),
    ),
    (BuyerSalesMonth, BuyerSalesDay, ("shop_id", "buyer_key"), ("sales",)),
    (
        ProductSalesMonth,
        ProductSalesDay,
        ("shop_id", "product_id", "category_id"),
        ("sales", "units", "goods", "presale_goods", "refunds_itemised"),
    ),
    (CategorySalesMonth, CategorySalesDay, ("shop_id", "category_id", "scope"), ("sales",)),
)
_MONTH_MODELS = tuple(month_model for month_model, *_rest in _ROLLUPS)


def _month_rollup(month: datetime.date, shop_ids: list[int] | None) -> None:
    """Recompute the monthly roll-ups (``_ROLLUPS``) of the month that begins on ``month`` for ``shop_ids``
    (every shop when None) from that month's daily rows. The caller holds the shops' locks."""
    end = month_last(month)
    for model in _MONTH_MODELS:
        stale = model.objects.filter(month=month)  # type: ignore[attr-defined]  # a model's default manager
        if shop_ids is not None:
            stale = stale.filter(shop_id__in=shop_ids)
        stale.delete()
    shops_sql, shops_params = "", []
    if shop_ids is not None:
        if not shop_ids:
            return
        shops_sql = f" AND shop_id IN ({', '.join(['%s'] * len(shop_ids))})"
        shops_params = list(shop_ids)
    with connection.cursor() as cursor:
        for month_model, day_model, keys, summed in _ROLLUPS:
            kept, sums = ", ".join(keys), ", ".join(f"SUM({c})" for c in summed)
            cursor.execute(
                f"INSERT INTO {month_model._meta.db_table} (month, {kept}, {', '.join(summed)}) "  # noqa: S608
                f"SELECT %s, {kept}, {sums} FROM {day_model._meta.db_table} "
                f"WHERE day >= %s AND day <= %s{shops_sql} GROUP BY {kept}",
                [month, month, end, *shops_params],
            )


_CHAIN_COLUMNS = "scope, shop_id, place_id, category_id, buyer_key, day, sales, previous_day, second_day"
# The chains by category over all shops, and the ``CategorySalesDay`` scope each is built from. A refresh
# rebuilds its buyers' chains of the categories it touched.
_CATEGORY_SCOPES = (
    (BuyerSalesChain.Scope.CATEGORY, CategorySalesDay.Scope.OWN),
    (BuyerSalesChain.Scope.CATEGORY_TREE, CategorySalesDay.Scope.TREE),
)
_CATEGORY_CHAINS = tuple(scope for scope, _day_scope in _CATEGORY_SCOPES)
_PLACE_LEVELS = (
    (BuyerSalesChain.Scope.VILLAGE, "village_id"),
    (BuyerSalesChain.Scope.TOWN, "town_id"),
    (BuyerSalesChain.Scope.COUNTY, "county_id"),
)
# The chains by place and category tree, each with its place level.
_PLACE_TREES = {CHAIN_TREE_OF[level]: level for level, _column in _PLACE_LEVELS}


def _in_list(column: str, values: list) -> str:
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _chain_places_sync(*, everything: bool = False) -> set[int]:
    """Record each shop's village, town and county as the chains by place count them (``ChainPlace``):
    every shop (``everything``), or those that are new or moved since. Returns the shops recorded."""
    now = {
        pk: (v, t, c)
        for pk, v, t, c in Partner.objects.values_list("pk", "village_id", "town_id", "county_id")
    }
    if everything:
        ChainPlace.objects.all().delete()
        changed = set(now)
    else:
        then = {
            pk: (v, t, c)
            for pk, v, t, c in ChainPlace.objects.values_list("shop_id", "village_id", "town_id", "county_id")
        }
        changed = {pk for pk, places in now.items() if then.get(pk) != places}
        ChainPlace.objects.filter(shop_id__in=changed).delete()
    ChainPlace.objects.bulk_create(
        ChainPlace(shop_id=pk, village_id=now[pk][0], town_id=now[pk][1], county_id=now[pk][2])
        for pk in sorted(changed)
    )
    return changed


@dataclass(frozen=True)
class _ChainGroups:
    """Which chain rows a refresh rebuilds, besides its buyers': by shop at ``shops``, by place at
    ``places`` (level → place ids, None standing for "in no place of that level"), by category at
    ``categories`` (None standing for "no category"), by shop or place and category tree at both (every
    category at a place when ``places`` is None); None: all of them."""

    shops: list[int] | None
    places: dict[str, list[int | None]] | None
    categories: list[int | None] | None = None

    def where(self, scope: str, prefix: str = "") -> tuple[str, list]:  # noqa: PLR0911
        """A SQL condition on the rows of ``scope`` (column names after ``prefix``), and its parameters."""
        if scope == BuyerSalesChain.Scope.ALL:
            return "1 = 1", []  # only the buyers narrow them
        if scope in _CATEGORY_CHAINS:
            return _in_list_or_null(f"{prefix}category_id", self.categories)
        if scope == BuyerSalesChain.Scope.SHOP:
            return self._at_shops(prefix)
        if scope == BuyerSalesChain.Scope.SHOP_TREE:
            at_shops, shop_params = self._at_shops(prefix)
            of_categories, category_params = _in_list_or_null(f"{prefix}category_id", self.categories)
            return f"({at_shops} AND {of_categories})", [*shop_params, *category_params]
        if scope in _PLACE_TREES:
            if self.places is None:  # every place, or a shop moved: all of its buyers' rows, every category
                return "1 = 1", []
            at_places, place_params = _in_list_or_null(f"{prefix}place_id", self.places[_PLACE_TREES[scope]])
            of_categories, category_params = _in_list_or_null(f"{prefix}category_id", self.categories)
            return f"({at_places} AND {of_categories})", [*place_params, *category_params]
        return _in_list_or_null(f"{prefix}place_id", None if self.places is None else self.places[scope])

    def _at_shops(self, prefix: str) -> tuple[str, list]:
        if self.shops is None:
            return "1 = 1", []
        return _in_list(f"{prefix}shop_id", self.shops), list(self.shops)

    def every_scope(self, prefix: str = "") -> tuple[str, list]:
        """A SQL condition on rows of any scope (``where`` of each, joined with OR), and its parameters."""
        terms, params = [], []
        for scope in BuyerSalesChain.Scope.values:
            condition, its = self.where(scope, prefix)
            terms.append(f"({prefix}scope = %s AND {condition})")
            params += [scope, *its]
        return f"({' OR '.join(terms)})", params


def _in_list_or_null(column: str, values: list | None) -> tuple[str, list]:
    """A SQL condition: ``column`` is one of ``values`` (None among them: or null); any when None."""
    if values is None:
        return "1 = 1", []
    ids = [v for v in values if v is not None]
    terms = [_in_list(column, ids)] if ids else []
    if None in values:
        terms.append(f"{column} IS NULL")
    return f"({' OR '.join(terms) or '1 = 0'})", ids


def _chain_groups(
    shop_ids: list[int] | None, moved: set[int], categories: set[int | None] | None
) -> _ChainGroups:
    """The chain rows that the facts of ``shop_ids`` (None: every shop) feed: their own by shop, by the
    places they are in, and by ``categories`` (None: every one); a moved shop's chains by place are
    rebuilt in every place."""
    touched = None if categories is None else sorted(categories, key=lambda c: (c is None, c or 0))
    if shop_ids is None or moved:
        return _ChainGroups(
            shops=list(shop_ids) if shop_ids is not None else None, places=None, categories=touched
        )
    rows = ChainPlace.objects.filter(shop_id__in=shop_ids).values_list("village_id", "town_id", "county_id")
    places: dict[str, list[int | None]] = {scope: [] for scope, _column in _PLACE_LEVELS}
    for row in rows:
        for (scope, _column), place in zip(_PLACE_LEVELS, row, strict=True):
            if place not in places[scope]:
                places[scope].append(place)
    return _ChainGroups(shops=list(shop_ids), places=places, categories=touched)


def _chains_refresh(
    buyer_keys: set[str] | None,
    shop_ids: list[int] | None = None,
    categories: set[int | None] | None = None,
) -> None:
    """Rebuild the ``BuyerSalesChain`` rows of ``buyer_keys`` (every buyer when None) from their
    ``BuyerSalesDay`` rows: by shop at ``shop_ids`` (every shop when None: only those shops' facts
    changed), by the village, town and county of those shops, over all shops, and by category at
    ``categories`` (every one when None: the categories whose facts changed; a buyer's sales at all shops
    holding the category, from ``CategorySalesDay``: "own" and "tree"), by shop and category tree at
    both ("shtree": a buyer's sales at one shop holding the category or one under it) and by place and
    category tree ("vtree", "ttree", "ctree"), with window functions in the database; then their rows as
    seen from each month start (``BuyerSalesChainMonth``). A shop that moved since the chains by place
    were built has all its buyers' chains by place rebuilt, in every place and category. The caller
    holds every shop's lock: a buyer's chain over all shops depends on each shop's facts."""
    chains, days = BuyerSalesChain._meta.db_table, BuyerSalesDay._meta.db_table
    places_table, chain_months = ChainPlace._meta.db_table, BuyerSalesChainMonth._meta.db_table
    category_days = CategorySalesDay._meta.db_table
    moved = _chain_places_sync(everything=buyer_keys is None)
    if buyer_keys is not None and moved:
        buyer_keys = buyer_keys | set(
            BuyerSalesDay.objects.filter(shop_id__in=moved).values_list("buyer_key", flat=True).distinct()
        )
    if buyer_keys is not None and not buyer_keys:
        return
    keys = sorted(buyer_keys) if buyer_keys is not None else None
    groups = _chain_groups(shop_ids, moved, categories)

    def buyers(prefix: str = "") -> tuple[str, list]:
        return ("1 = 1", []) if keys is None else (_in_list(f"{prefix}buyer_key", keys), keys)

    # One DELETE per table and one INSERT for every scope (each scope's rows a SELECT of a UNION ALL,
    # with its own window): the statements are the same whatever the number of scopes.
    by_buyer, buyer_params = buyers()
    selects: list[str] = []
    select_params: list = []
    by_shop, shop_params = groups.where(BuyerSalesChain.Scope.SHOP)
    selects.append(
        # The first SELECT types the UNION's columns: its NULLs are integers, as the others' ids.
        "SELECT 'shop', shop_id, CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), buyer_key, day, sales, "  # noqa: S608
        "LAG(day) OVER w, "
        "CASE WHEN sales >= 2 THEN day ELSE LEAD(day) OVER w END "
        f"FROM {days} WHERE {by_buyer} AND {by_shop} "
        "WINDOW w AS (PARTITION BY shop_id, buyer_key ORDER BY day)"
    )
    select_params += [*buyer_params, *shop_params]
    by_buyer_d, buyer_params_d = buyers("d.")
    for scope, column in _PLACE_LEVELS:
        by_place, place_params = groups.where(scope, "p.")
        selects.append(
            "SELECT %s, NULL, p.place_id, NULL, d.buyer_key, d.day, SUM(d.sales), LAG(d.day) OVER w, "  # noqa: S608
            "CASE WHEN SUM(d.sales) >= 2 THEN d.day ELSE LEAD(d.day) OVER w END "
            f"FROM {days} d JOIN (SELECT shop_id, {column} AS place_id FROM {places_table}) p "
            f"ON p.shop_id = d.shop_id WHERE {by_buyer_d} AND {by_place} "
            "GROUP BY p.place_id, d.buyer_key, d.day "
            "WINDOW w AS (PARTITION BY p.place_id, d.buyer_key ORDER BY d.day)"
        )
        select_params += [scope, *buyer_params_d, *place_params]
    selects.append(
        "SELECT 'all', NULL, NULL, NULL, buyer_key, day, SUM(sales), LAG(day) OVER w, "  # noqa: S608
        "CASE WHEN SUM(sales) >= 2 THEN day ELSE LEAD(day) OVER w END "
        f"FROM {days} WHERE {by_buyer} GROUP BY buyer_key, day "
        "WINDOW w AS (PARTITION BY buyer_key ORDER BY day)"
    )
    select_params += buyer_params
    by_shop_tree, shop_tree_params = groups.where(BuyerSalesChain.Scope.SHOP_TREE)
    selects.append(
        "SELECT %s, shop_id, NULL, category_id, buyer_key, day, SUM(sales), LAG(day) OVER w, "  # noqa: S608
        "CASE WHEN SUM(sales) >= 2 THEN day ELSE LEAD(day) OVER w END "
        f"FROM {category_days} WHERE scope = %s AND {by_buyer} AND {by_shop_tree} "
        "GROUP BY shop_id, category_id, buyer_key, day "
        "WINDOW w AS (PARTITION BY shop_id, category_id, buyer_key ORDER BY day)"
    )
    select_params += [
        BuyerSalesChain.Scope.SHOP_TREE,
        CategorySalesDay.Scope.TREE,
        *buyer_params,
        *shop_tree_params,
    ]
    for tree_scope, level in _PLACE_TREES.items():
        column = dict(_PLACE_LEVELS)[level]
        by_place_tree, place_tree_params = groups.where(tree_scope)
        selects.append(
            "SELECT %s, NULL, place_id, category_id, buyer_key, day, SUM(sales), LAG(day) OVER w, "  # noqa: S608
            "CASE WHEN SUM(sales) >= 2 THEN day ELSE LEAD(day) OVER w END FROM ("
            f"SELECT d.buyer_key, d.day, d.sales, d.category_id, p.{column} AS place_id "
            f"FROM {category_days} d JOIN {places_table} p ON p.shop_id = d.shop_id "
            "WHERE d.scope = %s) tree_days "
            f"WHERE {by_buyer} AND {by_place_tree} GROUP BY place_id, category_id, buyer_key, day "
            "WINDOW w AS (PARTITION BY place_id, category_id, buyer_key ORDER BY day)"
        )
        select_params += [tree_scope, CategorySalesDay.Scope.TREE, *buyer_params, *place_tree_params]
    for scope, category_scope in _CATEGORY_SCOPES:
        by_category, category_params = groups.where(scope)
        selects.append(
            "SELECT %s, NULL, NULL, category_id, buyer_key, day, SUM(sales), LAG(day) OVER w, "  # noqa: S608
            "CASE WHEN SUM(sales) >= 2 THEN day ELSE LEAD(day) OVER w END "
            f"FROM {category_days} WHERE scope = %s AND {by_buyer} AND {by_category} "
            "GROUP BY category_id, buyer_key, day "
            "WINDOW w AS (PARTITION BY category_id, buyer_key ORDER BY day)"
        )
        select_params += [scope, category_scope, *buyer_params, *category_params]
    with connection.cursor() as cursor:
        scoped, scope_params = groups.every_scope()
        for table in (chains, chain_months):
            cursor.execute(
                f"DELETE FROM {table} WHERE {by_buyer} AND {scoped}",  # noqa: S608
                [*buyer_params, *scope_params],
            )
        cursor.execute(
            f"INSERT INTO {chains} ({_CHAIN_COLUMNS}) {' UNION ALL '.join(selects)}",  # noqa: S608
            select_params,
        )
    _chain_months_fill(buyers("c."), groups)


def _chain_months_fill(by_buyer: tuple[str, list], groups: _ChainGroups) -> None:
    """Insert the ``BuyerSalesChainMonth`` rows of the chain rows of the buyers ``by_buyer`` (a SQL
    condition on ``c.`` and its parameters) and of ``groups``: one per month start in the gap before
    each row that has a previous and a second sale."""
    first, last = BuyerSalesDay.objects.aggregate(first=Min("day"), last=Max("day")).values()
    if first is None:
        return
    months = [m for m in _months_of(month_after(first), last) if m <= last]
    if not months:
        return
    chains, chain_months = BuyerSalesChain._meta.db_table, BuyerSalesChainMonth._meta.db_table
    scoped, scope_params = groups.every_scope("c.")
    values = ", ".join(["(%s)"] * len(months))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {chain_months} "  # noqa: S608
            "(scope, shop_id, place_id, category_id, buyer_key, month, previous_day, second_day) "
            "SELECT c.scope, c.shop_id, c.place_id, c.category_id, c.buyer_key, m.column1, c.previous_day, "
            "c.second_day "
            f"FROM {chains} c JOIN (VALUES {values}) m ON m.column1 > c.previous_day AND m.column1 <= c.day "
            f"WHERE c.previous_day IS NOT NULL AND c.second_day IS NOT NULL AND {by_buyer[0]} "
            f"AND {scoped}",
            [*months, *by_buyer[1], *scope_params],
        )


def _months_of(since: datetime.date, until: datetime.date) -> list[datetime.date]:
    """The first days of the months ``since`` to ``until`` touch."""
    months, month = [], month_first(since)
    while month <= until:
        months.append(month)
        month = month_after(month)
    return months


@transaction.atomic
def sales_rollups_rebuild(*, months: list[datetime.date]) -> None:
    """Recompute the monthly roll-ups of ``months`` (any day in each) for every shop, and every buyer's
    chain, from the daily facts (what a rebuild does once at its end), holding every shop's lock."""
    _shops_lock(None)
    for month in sorted({month_first(m) for m in months}):
        _month_rollup(month, None)
    _chains_refresh(None)
    _facts_changed()


@transaction.atomic
def sales_facts_refresh(
    *, day: datetime.date, shop_ids: list[int] | None = None, rollups: bool = True
) -> int:
    """Recompute the facts of ``day`` for ``shop_ids`` (every shop when None) from the source rows, and
    (unless ``rollups`` is False: a rebuild does them once at its end) the day's month in the monthly
    roll-ups and the chains of the day's buyers. Returns how many shops had sales or refunds that day."""
    # Every shop's row, not only ``shop_ids``'s: a buyer's chain over all shops is rebuilt from every
    # shop's facts, so two refreshes of different shops must not rebuild the same buyer's at once.
    _shops_lock(None if rollups else shop_ids)
    return _day_refresh(day=day, shop_ids=shop_ids, rollups=rollups, buyers=None)


def sales_facts_pending_add(
    *, day: datetime.date, shop_ids: list[int], buyer_key: str, sales: dict[int, int] | None = None
) -> None:
    """Note that ``buyer_key`` bought from ``shop_ids`` on ``day`` (a sale was paid): the next
    ``sales_facts_catch_up`` adds ``sales`` (shop order id → shop id) to the day's facts, or, for the
    shops without one here, rebuilds their day; and rebuilds that buyer's chains. Commits on its own."""
    sales = sales or {}
    with_sale = set(sales.values())
    SalesFactsPending.objects.bulk_create(
        [
            *(
                SalesFactsPending(day=day, shop_id=shop_id, buyer_key=buyer_key, shop_order_id=shop_order_id)
                for shop_order_id, shop_id in sorted(sales.items())
            ),
            *(
                SalesFactsPending(day=day, shop_id=shop_id, buyer_key=buyer_key)
                for shop_id in sorted(set(shop_ids) - with_sale)
            ),
        ]
    )


@transaction.atomic
def sales_facts_catch_up() -> int:
    """Bring the facts up to the pending sales (``SalesFactsPending``): each sale not counted yet
    (``SaleCounted``) is added to its day's facts and month (``_sales_add``: its own rows read, the facts'
    rows it touches updated, whatever the number of the day's other sales), a shop's day noted without a
    sale is rebuilt whole, and the chains of only the buyers who bought are rebuilt; then what was done is
    forgotten. Holds every shop's lock, as a refresh does: a catch-up that waited for another finds what
    that one did gone. Returns the days brought up."""
    _shops_lock(None)
    pending = list(
        SalesFactsPending.objects.values_list("pk", "day", "shop_id", "buyer_key", "shop_order_id")
    )
    whole: dict[datetime.date, set[int]] = defaultdict(set)
    sales: dict[datetime.date, set[int]] = defaultdict(set)
    shops: dict[datetime.date, set[int]] = defaultdict(set)
    buyers: dict[datetime.date, set[str]] = defaultdict(set)
    for _pk, day, shop_id, buyer, shop_order_id in pending:
        (whole[day].add(shop_id) if shop_order_id is None else sales[day].add(shop_order_id))
        shops[day].add(shop_id)
        if buyer:
            buyers[day].add(buyer)
    for day in sorted(whole):  # first: a rebuild counts the day's sales, which are then not added again
        _day_refresh(day=day, shop_ids=sorted(whole[day]), rollups=True, buyers=buyers[day])
    for day in sorted(sales):
        touched = _sales_add(sales[day])
        _chains_refresh(buyers[day], sorted(shops[day]), touched)
        _facts_changed()
    SalesFactsPending.objects.filter(pk__in=[row[0] for row in pending]).delete()
    return len(set(whole) | set(sales))


_DAY_SUMS = ("sales", "units", "goods", "shipping", "presale_goods")
_PRODUCT_SUMS = ("sales", "units", "goods", "presale_goods")


def _add_up(
    model: type[Model],
    fixed: dict[str, Any],
    key_fields: tuple[str, ...],
    additions: dict[tuple, dict[str, Any]],
    *,
    narrow: Q | None = None,
    extra: dict[tuple, dict[str, Any]] | None = None,
) -> None:
    """Add ``additions`` (a row's key, its ``key_fields`` values, → its fields' increments) to the rows of
    ``model`` with ``fixed`` (its day or month) and those keys, creating the missing ones (with ``extra``'s
    fields for their key). ``narrow``: a filter that keeps the read to the rows the keys can match (the
    first key field, the shop, always narrows it). The caller holds every shop's lock."""
    existing = model.objects.filter(  # type: ignore[attr-defined]  # a model's default manager
        narrow or Q(), **fixed, **{f"{key_fields[0]}__in": {k[0] for k in additions}}
    )
    rows: dict[tuple, Any] = {}
    for row in existing:
        rows.setdefault(tuple(getattr(row, name) for name in key_fields), row)
    created: list[Any] = []
    updated: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)  # the fields → each row's values
    for each, increments in additions.items():
        row = rows.get(each)
        if row is None:
            made = {**fixed, **dict(zip(key_fields, each, strict=True)), **(extra or {}).get(each, {})}
            created.append(model(**made, **increments))
        else:
            names = tuple(sorted(increments))
            updated[names].append([*(increments[name] for name in names), row.pk])
    model.objects.bulk_create(created)  # type: ignore[attr-defined]  # a model's default manager
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for names, values in updated.items():  # in the database, as increments: one statement for them all
            columns = [quote(name) for name in names]  # counts and sums: their columns bear their names
            assignments = ", ".join(f"{column} = {column} + %s" for column in columns)
            cursor.executemany(
                f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608
                values,
            )


def _sales_add(shop_order_ids: set[int]) -> set[int | None]:
    """Add the sales ``shop_order_ids`` not counted yet to their days' facts and months, and mark them
    counted; returns the categories whose facts they touched. Reads those sales and the facts' rows they
    touch only. The caller holds every shop's lock."""
    touched: set[int | None] = set()
    by_day: dict[datetime.date, set[int]] = defaultdict(set)
    uncounted = SaleEntry.objects.filter(kind=SaleEntry.Kind.SALE, shop_order_id__in=shop_order_ids).exclude(
        shop_order_id__in=SaleCounted.objects.filter(shop_order_id__in=shop_order_ids).values("pk")
    )
    for day, shop_order_id in uncounted.values_list("day", "shop_order_id"):
        by_day[day].add(shop_order_id)
    for day, these in sorted(by_day.items()):
        days, read = _shop_days(day, None, only_sales=these)
        _day_add(day, days)
        touched.update(category_id for f in days.values() for category_id, _scope, _buyer in f.categories)
        SaleCounted.objects.bulk_create(
            SaleCounted(shop_order_id=shop_order_id, day=day, shop_id=shop_id)
            for shop_order_id, shop_id in read
        )
    return touched


def _day_add(day: datetime.date, days: dict[int, _ShopDay]) -> None:
    """Add one day's new sales (``_shop_days(only_sales=…)``) to that day's facts and its month's."""
    by_day, by_month = {"day": day}, {"month": month_first(day)}
    buyers = Q(buyer_key__in={buyer for f in days.values() for buyer in f.buyers})
    day_sums = {(shop_id,): {name: getattr(f, name) for name in _DAY_SUMS} for shop_id, f in days.items()}
    buyer_sums = {
        (shop_id, buyer): {"sales": n} for shop_id, f in days.items() for buyer, n in f.buyers.items()
    }
    for fixed, day_model, buyer_model in (
        (by_day, SalesDay, BuyerSalesDay),
        (by_month, SalesMonth, BuyerSalesMonth),
    ):
        _add_up(day_model, fixed, ("shop_id",), day_sums)
        _add_up(buyer_model, fixed, ("shop_id", "buyer_key"), buyer_sums, narrow=buyers)
    products = {product_id for f in days.values() for product_id in f.products}
    product_sums: dict[tuple, dict[str, Any]] = {}
    categories: dict[tuple, dict[str, Any]] = {}
    for shop_id, f in days.items():
        for product_id, p in f.products.items():
            sums = {name: getattr(p, name) for name in _PRODUCT_SUMS}
            product_sums[(shop_id, product_id)] = {**sums, "sales": len(p.sales)}
            categories[(shop_id, product_id)] = {"category_id": p.category_id}
    in_products = Q(product_id__in=products - {None})
    if None in products:
        in_products |= Q(product_id__isnull=True)
    _add_up(
        ProductSalesDay, by_day, ("shop_id", "product_id"), product_sums, narrow=in_products, extra=categories
    )
    _add_up(
        ProductSalesMonth,
        by_month,
        ("shop_id", "product_id", "category_id"),
        {(*key, categories[key]["category_id"]): sums for key, sums in product_sums.items()},
        narrow=in_products,
    )
    category_sums: dict[tuple, dict[str, Any]] = defaultdict(lambda: {"sales": 0})
    for shop_id, f in days.items():
        for (category_id, scope, _buyer), ids in f.categories.items():
            category_sums[(shop_id, category_id, scope)]["sales"] += len(ids)
    _add_up(
        CategorySalesDay,
        by_day,
        ("shop_id", "category_id", "scope", "buyer_key"),
        {
            (shop_id, category_id, scope, buyer): {"sales": len(ids)}
            for shop_id, f in days.items()
            for (category_id, scope, buyer), ids in f.categories.items()
        },
        narrow=buyers,
    )
    _add_up(CategorySalesMonth, by_month, ("shop_id", "category_id", "scope"), dict(category_sums))


def _day_refresh(
    *, day: datetime.date, shop_ids: list[int] | None, rollups: bool, buyers: set[str] | None
) -> int:
    """``sales_facts_refresh``'s work, under the caller's locks. ``buyers``: whose chains to rebuild (None:
    every buyer of the day at those shops, before and after)."""
    buyers_before: set[str] = set()
    if rollups and buyers is None:
        before = BuyerSalesDay.objects.filter(day=day)
        if shop_ids is not None:
            before = before.filter(shop_id__in=shop_ids)
        buyers_before = set(before.values_list("buyer_key", flat=True))
    # The categories whose facts this refresh may change (those of the day's rows before and after): the
    # buyers' chains by category of the others are left as they are. All of them for every shop's day.
    categories: set[int | None] | None = None
    if rollups and shop_ids is not None:
        categories = set(
            CategorySalesDay.objects.filter(day=day, shop_id__in=shop_ids)
            .values_list("category_id", flat=True)
            .distinct()
        )
    days, counted = _shop_days(day, shop_ids)
    for model in (SalesDay, ProductSalesDay, CategorySalesDay, BuyerSalesDay, SaleCounted):
        stale = model.objects.filter(day=day)
        if shop_ids is not None:
            stale = stale.filter(shop_id__in=shop_ids)
        stale.delete()
    SaleCounted.objects.bulk_create(
        SaleCounted(shop_order_id=shop_order_id, day=day, shop_id=shop_id)
        for shop_order_id, shop_id in counted
    )
    SalesDay.objects.bulk_create(
        SalesDay(
            day=day,
            shop_id=shop_id,
            sales=f.sales,
            units=f.units,
            goods=f.goods,
            shipping=f.shipping,
            presale_goods=f.presale_goods,
            refunds=f.refunds,
            refunds_itemised=f.refunds_itemised,
        )
        for shop_id, f in days.items()
    )
    ProductSalesDay.objects.bulk_create(
        ProductSalesDay(
            day=day,
            shop_id=shop_id,
            product_id=product_id,
            category_id=p.category_id,
            sales=len(p.sales),
            units=p.units,
            goods=p.goods,
            presale_goods=p.presale_goods,
            refunds_itemised=p.refunds_itemised,
        )
        for shop_id, f in days.items()
        for product_id, p in f.products.items()
    )
    CategorySalesDay.objects.bulk_create(
        CategorySalesDay(
            day=day, shop_id=shop_id, category_id=category_id, scope=scope, buyer_key=buyer, sales=len(ids)
        )
        for shop_id, f in days.items()
        for (category_id, scope, buyer), ids in f.categories.items()
    )
    BuyerSalesDay.objects.bulk_create(
        BuyerSalesDay(day=day, shop_id=shop_id, buyer_key=buyer, sales=n)
        for shop_id, f in days.items()
        for buyer, n in f.buyers.items()
    )
    if rollups:
        _month_rollup(month_first(day), shop_ids)
        if buyers is None:
            buyers = buyers_before | {buyer for f in days.values() for buyer in f.buyers}
        if categories is not None:
            categories.update(
                category_id for f in days.values() for category_id, _scope, _buyer in f.categories
            )
        _chains_refresh(buyers, shop_ids, categories)
    _facts_changed()
    return len(days)


def _active_days(since: datetime.date, until: datetime.date) -> set[datetime.date]:
    """The days with a sale, a refund or facts already (two queries)."""
    days = set(
        SalesDay.objects.filter(day__gte=since, day__lte=until).values_list("day", flat=True).distinct()
    )
    days.update(_entries(since, until).order_by().values_list("day", flat=True).distinct())
    return days


def sales_facts_rebuild(*, since: datetime.date | None = None, until: datetime.date | None = None) -> int:
    """Rebuild every shop's facts from ``since`` (the first sale or refund when None) to ``until``
    (today), one day at a time: a handful of queries per day with sales, refunds or facts, whatever the
    number of shops; then every month from ``since`` to ``until`` in the monthly roll-ups, once each,
    and every buyer's chain. Returns the days rebuilt."""
    until = until or timezone.localdate()
    if since is None:
        since = _entries().order_by("day").values_list("day", flat=True).first() or until
        # Facts left from before the first sale (source rows deleted since) go too.
        for model in (SalesDay, ProductSalesDay, CategorySalesDay, BuyerSalesDay):
            model.objects.filter(day__lt=since).delete()
        for month_model in _MONTH_MODELS:
            month_model.objects.filter(month__lt=month_first(since)).delete()  # type: ignore[attr-defined]
    days = sorted(_active_days(since, until))
    for day in days:
        sales_facts_refresh(day=day, rollups=False)
    sales_rollups_rebuild(months=_months_of(since, until) if since <= until else [])
    return len(days)

"""Keeping the search index current: what text a product is found by, and writing its tokens.

Two writers share one text builder (``search_text``): ``product_index`` rewrites one product's rows
(the outbox subscriber, on every change) and ``products_index_bulk`` many at once (rebuilds, imports,
the demo and benchmark loads). The bulk writer reads the searchable names with two ``values()``
queries per batch instead of model instances, and writes only the token rows that changed, in one
statement (PostgreSQL) or one prepared ``executemany`` (SQLite) per batch: a product has about 116
token rows, and as ORM objects they cost more than everything else together.
"""

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import QuerySet
from oscar.core.loading import get_model

from marketplace.search.models import ProductSearchDocument, SearchPick, SearchToken
from marketplace.search.tokens import CODE, KIND, NAME, PLACE, FieldWeight, normalise, weighted_tokens

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
else:
    Product = get_model("catalogue", "Product")

BULK_BATCH_SIZE = 2000
# SQLite keeps 2 MB of pages by default; a rebuild appends to a few thousand token ranges at once, so
# it keeps those pages in memory for the length of the rebuild (a per-connection setting, in KiB).
SQLITE_REBUILD_CACHE_KIB = 128 * 1024

# A pair of (Chinese, English) names, either of which may be missing.
Names = tuple[str | None, str | None]


@dataclass(frozen=True)
class SearchableProduct:
    """What a product is found by: its names, variety, kind, categories, shop and places."""

    title: str | None
    title_en: str | None
    variety: str | None
    variety_en: str | None
    upc: str | None
    product_class: str | None
    categories: tuple[Names, ...]
    shop: Names | None
    shop_places: tuple[Names, ...]  # the shop's province, city, county, town and village, those it has
    origin_village: Names | None


def searchable_fields(item: SearchableProduct) -> list[tuple[str | None, FieldWeight]]:
    """Names, variety, kind, category, shop and place: what buyers type, each with the weight a match in
    it carries. Descriptions are left out on purpose: a tea shop's story mentioning peach blossom must
    not make it a peach result."""
    fields: list[tuple[str | None, FieldWeight]] = [(item.title, NAME), (item.title_en, NAME)]
    fields += [(item.variety, KIND), (item.variety_en, KIND), (item.product_class, KIND), (item.upc, CODE)]
    for names in item.categories:
        fields += [(name, KIND) for name in names]
    if item.shop is not None:
        fields += [(name, PLACE) for name in item.shop]
        for names in item.shop_places:
            fields += [(name, PLACE) for name in names]
    if item.origin_village is not None:
        fields += [(name, PLACE) for name in item.origin_village]
    return fields


def search_text(item: SearchableProduct) -> str:
    """The product's searchable text in one string (kept to confirm that a CJK word appears as written)."""
    return " ".join(text for text, _weight in searchable_fields(item) if text)


def _searchable_queryset() -> QuerySet["Product"]:
    return Product.objects.select_related(
        "shop",
        "shop__province",
        "shop__city",
        "shop__county",
        "shop__town",
        "shop__village",
        "origin_village",
        "product_class",
    ).prefetch_related("categories")


def product_searchable(product: "Product") -> SearchableProduct:
    """The searchable names of a product instance (loaded through ``_searchable_queryset``)."""
    shop = product.shop
    places = () if shop is None else (shop.province, shop.city, shop.county, shop.town, shop.village)
    origin = product.origin_village
    return SearchableProduct(
        title=product.title,
        title_en=product.title_en,
        variety=product.variety,
        variety_en=product.variety_en,
        upc=product.upc,
        product_class=product.product_class.name if product.product_class_id else None,
        categories=tuple((c.name, getattr(c, "name_en", "")) for c in product.categories.all()),
        shop=None if shop is None else (shop.name, shop.name_en),
        shop_places=tuple((r.name, r.name_en) for r in places if r is not None),
        origin_village=None if origin is None else (origin.name, origin.name_en),
    )


def product_search_text(product: "Product") -> str:
    return search_text(product_searchable(product))


@dataclass(frozen=True)
class Reindexed:
    """What ``product_index`` did: whether the product still exists, and its tokens before and after."""

    found: bool
    before: frozenset[str]
    after: frozenset[str]


def _write(product: "Product", existing: set[tuple[str, int]]) -> frozenset[str]:
    item = product_searchable(product)
    ProductSearchDocument.objects.update_or_create(
        product=product, defaults={"text": normalise(search_text(item))}
    )
    wanted = set(weighted_tokens(searchable_fields(item)).items())
    stale = {token for token, _weight in existing - wanted}
    SearchToken.objects.filter(product=product, token__in=stale).delete()
    SearchToken.objects.bulk_create(
        [SearchToken(product=product, token=t, weight=w) for t, w in sorted(wanted - existing)],
        ignore_conflicts=True,
    )
    return frozenset(token for token, _weight in wanted)


@transaction.atomic
def product_index(*, product_id: int) -> Reindexed:
    """(Re)index one product, changing only the token rows that differ; a product that no longer
    exists leaves no rows. Idempotent. Run by the outbox subscriber on every product change."""
    existing = set(SearchToken.objects.filter(product_id=product_id).values_list("token", "weight"))
    before = frozenset(token for token, _weight in existing)
    product = _searchable_queryset().filter(pk=product_id).first()
    if product is None:
        SearchToken.objects.filter(product_id=product_id).delete()
        ProductSearchDocument.objects.filter(product_id=product_id).delete()
        return Reindexed(found=False, before=before, after=frozenset())
    return Reindexed(found=True, before=before, after=_write(product, existing))


# Many products at once ----------------------------------------------------------------------------

_PLACE_PREFIXES = ("shop__province", "shop__city", "shop__county", "shop__town", "shop__village")
_PRODUCT_VALUES = (
    "pk",
    "title",
    "title_en",
    "variety",
    "variety_en",
    "upc",
    "product_class__name",
    "shop_id",
    "shop__name",
    "shop__name_en",
    *(f"{prefix}{suffix}" for prefix in _PLACE_PREFIXES for suffix in ("_id", "__name", "__name_en")),
    "origin_village_id",
    "origin_village__name",
    "origin_village__name_en",
)


def searchables_read(product_ids: Sequence[int]) -> dict[int, SearchableProduct]:
    """The searchable names of these products (those that exist), in two queries: the products with
    their kind, shop and places joined, and their categories in the order a product lists them."""
    categories: dict[int, list[Names]] = defaultdict(list)
    through = Product.categories.through
    for product_id, name, name_en in (
        through.objects.filter(product_id__in=product_ids)
        # Category's own ordering (its path), as product.categories.all() lists them.
        .order_by("product_id", "category__path")
        .values_list("product_id", "category__name", "category__name_en")
    ):
        categories[product_id].append((name, name_en))
    found: dict[int, SearchableProduct] = {}
    for row in Product.objects.filter(pk__in=product_ids).order_by().values(*_PRODUCT_VALUES):
        found[row["pk"]] = SearchableProduct(
            title=row["title"],
            title_en=row["title_en"],
            variety=row["variety"],
            variety_en=row["variety_en"],
            upc=row["upc"],
            product_class=row["product_class__name"],
            categories=tuple(categories.get(row["pk"], ())),
            shop=None if row["shop_id"] is None else (row["shop__name"], row["shop__name_en"]),
            shop_places=tuple(
                (row[f"{prefix}__name"], row[f"{prefix}__name_en"])
                for prefix in _PLACE_PREFIXES
                if row[f"{prefix}_id"] is not None
            ),
            origin_village=(
                None
                if row["origin_village_id"] is None
                else (row["origin_village__name"], row["origin_village__name_en"])
            ),
        )
    return found


def _token_rows_write(sql_postgresql: str, sql_other: str, rows: list[tuple[int, str, int]]) -> None:
    """Run a statement over (product id, token, weight) rows: once with arrays on PostgreSQL, as one
    prepared statement per row elsewhere (SQLite's fastest way); no model instance per row."""
    if not rows:
        return
    quote = connection.ops.quote_name
    names = {
        "table": quote(SearchToken._meta.db_table),
        "product": quote(SearchToken._meta.get_field("product").column),
        "token": quote(SearchToken._meta.get_field("token").column),
        "weight": quote(SearchToken._meta.get_field("weight").column),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [list(column) for column in zip(*rows, strict=True)]
            cursor.execute(sql_postgresql.format(**names), columns)
        else:
            cursor.executemany(sql_other.format(**names), rows)


def _tokens_insert(rows: list[tuple[int, str, int]]) -> None:
    _token_rows_write(
        "INSERT INTO {table} ({product}, {token}, {weight}) "
        "SELECT * FROM unnest(%s::integer[], %s::varchar[], %s::smallint[])",
        "INSERT INTO {table} ({product}, {token}, {weight}) VALUES (%s, %s, %s)",
        rows,
    )


def _tokens_delete(rows: list[tuple[int, str, int]]) -> None:
    _token_rows_write(
        "DELETE FROM {table} USING unnest(%s::integer[], %s::varchar[], %s::smallint[]) "
        "AS gone(product_id, token, weight) "
        "WHERE {table}.{product} = gone.product_id AND {table}.{token} = gone.token",
        "DELETE FROM {table} WHERE {product} = %s AND {token} = %s AND {weight} = %s",
        rows,
    )


@transaction.atomic
def products_index_bulk(*, product_ids: Sequence[int]) -> int:
    """(Re)index these products in one transaction, from ``searchables_read``: their documents are
    written again, and of their token rows only those that changed are deleted or inserted (a rebuild
    of an index that is mostly right writes little; deleting and re-inserting the same keys made a
    rebuild on PostgreSQL several times slower). Gives the same documents and tokens as
    ``product_index`` one by one; ids of products that no longer exist leave no rows. Returns how
    many products were indexed."""
    ids = list(product_ids)
    if not ids:
        return 0
    searchables = searchables_read(ids)
    existing = set(
        SearchToken.objects.filter(product_id__in=ids).values_list("product_id", "token", "weight")
    )
    ProductSearchDocument.objects.filter(product_id__in=ids).delete()
    documents: list[ProductSearchDocument] = []
    # In (product, token) order, sorted per product (cheaper than at once).
    new: list[tuple[int, str, int]] = []
    for product_id in sorted(searchables):
        item = searchables[product_id]
        documents.append(ProductSearchDocument(product_id=product_id, text=normalise(search_text(item))))
        for token, weight in sorted(weighted_tokens(searchable_fields(item)).items()):
            row = (product_id, token, weight)
            if row in existing:
                existing.discard(row)  # kept: what is left of ``existing`` at the end is stale
            else:
                new.append(row)
    ProductSearchDocument.objects.bulk_create(documents, batch_size=BULK_BATCH_SIZE)
    _tokens_delete(sorted(existing))
    _tokens_insert(new)
    return len(documents)


def _batches(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while batch := list(islice(iterator, size)):
        yield batch


def _all_product_ids(size: int) -> Iterator[list[int]]:
    last = 0
    while True:
        batch = list(Product.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not batch:
            return
        yield batch
        last = batch[-1]


def products_index(*, product_ids: Iterable[int] | None = None, batch_size: int = BULK_BATCH_SIZE) -> int:
    """Rebuild the index for many products (all when ``product_ids`` is None), a transaction per
    batch of ``batch_size``, and forget the kept searches. Returns how many products were indexed."""
    batches = _all_product_ids(batch_size) if product_ids is None else _batches(product_ids, batch_size)
    with search_index_bulk_writes():
        indexed = sum(products_index_bulk(product_ids=batch) for batch in batches)
    # The kept searches (picks.py) were ranked on the old index: each is picked again by its next page.
    SearchPick.objects.all().delete()
    return indexed


@contextlib.contextmanager
def search_index_bulk_writes() -> Iterator[None]:
    """Around many calls of ``products_index_bulk`` (a rebuild, a large load): on SQLite its page
    cache is made large for the while, then put back; elsewhere nothing."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_REBUILD_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")

"""What a catalogue change may have moved in the kept lists, so that its delivery picks again only those.

The kept lists — each category's first page (``category_pick.py``), the kept searches
(``marketplace/search/picks.py``), the shops' and categories' counts (``shop_counts.py``) — were all picked
again after every catalogue change, whatever changed: at 100,000 products seconds of a worker's time for a
new photo. A change now says what it may have moved (``ListsMoved``):

- products: put on or taken off sale, new, deleted, renamed, linked to a category or unlinked;
- categories: a link to one added or taken away (the product's other links are read at delivery);
- shops: opened or closed (their products, read at delivery; a shop's other edits move no list, its
  names are searched through its products' reindex);
- shop counts: a shop whose count of products on sale may have moved (a product's own shop, named with
  the product: a deleted product's shop cannot be read at delivery);
- everything: the category tree, places, kinds, facts, purchase options (the association's or the
  dashboard's edits, rare), or more products than ``LISTS_MOVED_PRODUCTS_MAX`` at once (a large import:
  picking everything again is then the cheaper).

A change that moves no list (a photo, a price, a review, a certification) says so with ``NO_LIST``: its
delivery only retires the cached pages. The change's transaction records what it names under its outbox key
(``ListsMovedRecord``, one row per thing named, ``lists_moved_record``); the delivery takes the rows of the
keys it delivers (``lists_moved_take``: read, then deleted in the delivery's transaction) and reaches from
them (``Reach``): the categories the products are linked to and those named, with every category above them
(a category lists the products of the categories below it); the shops of the products and those named.
A product's shop is set when it is listed and not changed afterwards, so a product's shop is its only one.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet
from oscar.core.loading import get_model

from marketplace.storefront.models import ListsMovedRecord

Product = get_model("catalogue", "Product")
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")

Kind = ListsMovedRecord.Kind


@dataclass(frozen=True)
class ListsMoved:
    """What one change may have moved in the kept lists (see the module note)."""

    products: Collection[int] = ()
    categories: Collection[int] = ()
    shops: Collection[int] = ()
    shop_counts: Collection[int] = ()
    everything: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.products or self.categories or self.shops or self.shop_counts)


EVERY_LIST = ListsMoved(everything=True)
NO_LIST = ListsMoved()


def lists_moved_record(*, key: str, moved: ListsMoved) -> None:
    """In the change's transaction: note under its outbox ``key`` what it may have moved (nothing for
    ``NO_LIST``; the same thing named twice in a transaction is one row)."""
    if moved.is_empty:
        return
    products = set(moved.products)
    if moved.everything or len(products) > settings.LISTS_MOVED_PRODUCTS_MAX:
        rows = [(Kind.EVERYTHING, 0)]
    else:
        rows = [
            *((Kind.PRODUCT, pk) for pk in products),
            *((Kind.CATEGORY, pk) for pk in set(moved.categories)),
            *((Kind.SHOP, pk) for pk in set(moved.shops)),
            *((Kind.SHOP_COUNT, pk) for pk in set(moved.shop_counts) if pk is not None),
        ]
    ListsMovedRecord.objects.bulk_create(
        [ListsMovedRecord(key=key, kind=kind, ident=ident) for kind, ident in rows], ignore_conflicts=True
    )


@dataclass(frozen=True)
class Reach:
    """The kept lists some changes may have moved: everything, or the lists of ``products`` and of the
    products of ``named_shops``, the ``categories`` (with every category above them) and the counts of
    ``shops`` (those named, those counted and the products' own)."""

    everything: bool = False
    products: frozenset[int] = field(default_factory=frozenset)
    categories: frozenset[int] = field(default_factory=frozenset)
    shops: frozenset[int] = field(default_factory=frozenset)
    named_shops: frozenset[int] = field(default_factory=frozenset)
    # Each product with the key of a change that named it: another app's follow-up of the same change
    # (the search's reindex of a saved product, keyed by the product and the change's key) may already
    # cover that product.
    named_by: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.products or self.categories or self.shops)

    def products_reached(self, *, covered: Collection[int] = ()) -> QuerySet:
        """The products whose lists may have moved (every product when ``everything``), but for the named
        products ``covered`` (those another follow-up of their change takes care of)."""
        if self.everything:
            return Product.objects.all()
        return Product.objects.filter(self.products_q(products=self.products - set(covered)))

    def products_q(self, prefix: str = "", *, products: Collection[int] | None = None) -> Q:
        """The products reached (or ``products`` and those of the named shops), as a condition on
        ``prefix``'s product (``""``: on products themselves)."""
        pk, shop = ("pk", "shop_id") if not prefix else (f"{prefix}_id", f"{prefix}__shop_id")
        named = self.products if products is None else products
        return Q(**{f"{pk}__in": sorted(named)}) | Q(**{f"{shop}__in": sorted(self.named_shops)})


EVERYTHING_REACHED = Reach(everything=True)


def _with_categories_above(category_ids: Iterable[int]) -> frozenset[int]:
    paths = Category.objects.filter(pk__in=sorted(set(category_ids))).values_list("path", flat=True)
    step = Category.steplen
    above = {path[:end] for path in paths for end in range(step, len(path) + 1, step)}
    if not above:
        return frozenset()
    return frozenset(Category.objects.filter(path__in=sorted(above)).values_list("pk", flat=True))


def lists_moved_take(*, keys: Collection[str]) -> Reach:
    """What the changes of ``keys`` may have moved, their records deleted (in the caller's transaction: a
    delivery that fails leaves them for the next attempt). A few queries, none growing with the catalogue
    but for the products of a named shop."""
    records = ListsMovedRecord.objects.filter(key__in=sorted(keys))
    named: dict[str, set[int]] = {kind: set() for kind in Kind.values}
    named_by = set()
    for key, kind, ident in records.values_list("key", "kind", "ident"):
        named[kind].add(ident)
        if kind == Kind.PRODUCT:
            named_by.add((key, ident))
    records.delete()
    if named[Kind.EVERYTHING]:
        return EVERYTHING_REACHED
    products, shops = frozenset(named[Kind.PRODUCT]), frozenset(named[Kind.SHOP])
    if not (products or shops or named[Kind.CATEGORY] or named[Kind.SHOP_COUNT]):
        return Reach()
    reach = Reach(products=products, named_shops=shops)
    linked = ProductCategory.objects.filter(reach.products_q("product")).values_list("category_id", flat=True)
    shops_of_products = Product.objects.filter(pk__in=sorted(products)).values_list("shop_id", flat=True)
    return Reach(
        products=products,
        named_by=frozenset(named_by),
        named_shops=shops,
        categories=_with_categories_above([*named[Kind.CATEGORY], *linked]),
        shops=shops | named[Kind.SHOP_COUNT] | {pk for pk in shops_of_products if pk is not None},
    )

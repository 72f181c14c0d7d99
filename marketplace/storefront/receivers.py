"""Any change to what the storefront shows invalidates its cached fragments, and the product cards and
kept page parts it touches (``marketplace/storefront/cards.py``, ``marketplace/storefront/kept.py``).

Like the search index, this is bookkeeping rather than a business flow, and Oscar's dashboard writes
these models without our services, so it hangs on model signals. Writes that bypass ``save()``
(``QuerySet.update``) call ``catalogue_changed()`` themselves; stock levels are read live and change nothing.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model, Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from oscar.core.loading import get_model

from marketplace.storefront.caching import catalogue_changed, products_drawn_stale
from marketplace.storefront.kept import (
    CATEGORY_SCOPE,
    HOME_KEY,
    HOME_SCOPE,
    PRODUCT_SCOPE,
    kept_stale,
    kept_stale_all,
)
from marketplace.storefront.lists_moved import EVERY_LIST, NO_LIST, ListsMoved
from marketplace.storefront.models import KeptFragment, ProductCard

WATCHED = [
    ("catalogue", "Product"),
    ("catalogue", "ProductImage"),
    ("catalogue", "ProductCategory"),
    ("catalogue", "ProductAttributeValue"),
    ("catalogue", "ProductClass"),
    ("catalogue", "ProductAttribute"),
    ("catalogue", "AttributeOption"),
    ("catalogue", "Category"),
    ("catalogue", "Certification"),
    ("catalogue", "Option"),
    ("partner", "Partner"),
    ("partner", "StockRecord"),
    ("places", "Region"),
    ("reviews", "ProductReview"),
]
Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")
ProductClass = get_model("catalogue", "ProductClass")
ProductReview = get_model("reviews", "ProductReview")
ProductCategory = get_model("catalogue", "ProductCategory")
Partner = get_model("partner", "Partner")


# Stock levels are read live by the pages that show them (marketplace/partner/stock.py), so a save that
# names only these fields leaves the cached catalogue as it is.
LIVE_STOCK_FIELDS = frozenset({"num_in_stock", "num_allocated"})


# What a product card shows of other models: its products, by the model's label.
CARDS_OF = {
    "catalogue.ProductClass": lambda kind: Product.objects.filter(product_class=kind),
    "catalogue.Certification": lambda certification: Product.objects.filter(certifications=certification),
    "partner.Partner": lambda shop: Product.objects.filter(shop=shop),
    "places.Region": lambda region: Product.objects.filter(Q(shop__county=region) | Q(shop__town=region)),
}


# What a product's page shows besides its card: rows of one product (its categories, facts and reviews:
# the kept product carries its number of reviews), and rows many products' pages show (a category in the
# breadcrumbs, a place in the origin, a fact's name or option, a purchase option: the kept product carries
# whether it has any).
PAGE_PARTS_OF_ONE_PRODUCT = frozenset(
    {"catalogue.ProductCategory", "catalogue.ProductAttributeValue", "reviews.ProductReview"}
)
EVERY_PRODUCT_PAGE = frozenset(
    {
        "catalogue.Category",
        "places.Region",
        "catalogue.ProductAttribute",
        "catalogue.AttributeOption",
        "catalogue.Option",
    }
)
# What the home page's kept kinds, shops and places show.
HOME_PAGE = frozenset({"catalogue.Category", "partner.Partner", "places.Region"})

# What a save or delete may move in the kept lists (the category pages' first pages, the kept searches,
# the counts: lists_moved.py) besides its product: nothing for what only cards and pages show (a photo, a
# price, a fact, a review, a certification); everything for the rare edits of what every list is drawn
# from (the category tree, places, kinds, facts' names, purchase options).
MOVES_NO_LIST = frozenset(
    {
        "catalogue.ProductImage",
        "catalogue.ProductAttributeValue",
        "catalogue.Certification",
        "partner.StockRecord",
        "reviews.ProductReview",
    }
)


def lists_moved(instance: Model, *, deleted: bool = False) -> ListsMoved:
    """What the save or delete of ``instance`` may have moved in the kept lists."""
    label = instance._meta.label
    if label == "catalogue.Product":
        return ListsMoved(products=[instance.pk], shop_counts=[instance.shop_id])  # type: ignore[attr-defined]
    if label == "catalogue.ProductCategory":
        return ListsMoved(
            products=[instance.product_id],  # type: ignore[attr-defined]
            categories=[instance.category_id],  # type: ignore[attr-defined]
        )
    if label == "partner.Partner":
        # Its products enter or leave every list only as it opens or closes (its names are searched by its
        # products' reindex): a profile edit moves no list.
        opened_or_closed = getattr(instance, STATUS_BEFORE, instance.status) != instance.status  # type: ignore[attr-defined]
        return ListsMoved(shops=[instance.pk]) if opened_or_closed or deleted else NO_LIST
    return NO_LIST if label in MOVES_NO_LIST else EVERY_LIST


# Set on a shop about to be saved: its status in the database (see ``lists_moved``).
STATUS_BEFORE = "_storefront_status_before"


def _shop_status_before(
    sender: type[Model], instance: Model, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if instance.pk is not None and (update_fields is None or "status" in update_fields):
        before = Partner.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
        setattr(instance, STATUS_BEFORE, before)


def cards_touched(instance: Model) -> "QuerySet | list[int]":
    """The products whose card shows something of ``instance`` (a card shows its product, price, main
    photo, kind, certifications, shop and the shop's county and town; not categories, facts or reviews)."""
    label = instance._meta.label
    if label == "catalogue.Product":
        return [instance.pk]
    if label in ("catalogue.ProductImage", "partner.StockRecord"):
        return [instance.product_id]  # type: ignore[attr-defined]
    cards_of = CARDS_OF.get(label)
    return cards_of(instance) if cards_of else []


def _changed(
    sender: type[Model], instance: Model, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if sender is StockRecord and update_fields and update_fields <= LIVE_STOCK_FIELDS:
        return
    label = instance._meta.label
    if kwargs.get("signal") is post_delete and isinstance(instance, Product):
        ProductCard.objects.filter(product_id=instance.pk).delete()
        KeptFragment.objects.filter(scope=PRODUCT_SCOPE, key=str(instance.pk)).delete()
        kept_stale(scope=PRODUCT_SCOPE, keys=[instance.pk])  # a page drawing it now keeps nothing
    elif not (kwargs.get("created") and isinstance(instance, Product)):  # no page has read a new product
        products_drawn_stale(cards_touched(instance))
    if label in PAGE_PARTS_OF_ONE_PRODUCT:
        kept_stale(scope=PRODUCT_SCOPE, keys=[instance.product_id])  # type: ignore[attr-defined]
    if label in EVERY_PRODUCT_PAGE:
        kept_stale_all(scope=PRODUCT_SCOPE)
    if label in HOME_PAGE:
        kept_stale(scope=HOME_SCOPE, keys=[HOME_KEY])
    if label == "catalogue.Category":  # a name in other categories' breadcrumbs and kinds below
        kept_stale_all(scope=CATEGORY_SCOPE)
    catalogue_changed(lists=lists_moved(instance, deleted=kwargs.get("signal") is post_delete))


def _certifications_changed(
    instance: Model, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if reverse and action == "pre_clear":  # a certification taken from all its products: while they are known
        products_drawn_stale(Product.objects.filter(certifications=instance))
    if not action.startswith("post_"):
        return
    if not reverse:
        products_drawn_stale([instance.pk])
    elif pk_set:
        products_drawn_stale(pk_set)
    catalogue_changed(lists=NO_LIST)


def _categories_changed(
    instance: Model, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Links between products and categories added or taken away through the relation (``.set()``,
    ``.add()``, ``.remove()``, ``.clear()``: no save or delete of a link is signalled): the categories'
    lists move, and the product's breadcrumbs."""
    if action == "pre_clear":  # the links about to go, while they are known
        links = ProductCategory.objects.filter(**{"category" if reverse else "product": instance})
        products = [instance.pk] if not reverse else list(links.values_list("product_id", flat=True))
        categories = [instance.pk] if reverse else list(links.values_list("category_id", flat=True))
    elif action in ("post_add", "post_remove") and pk_set:
        products, categories = (sorted(pk_set), [instance.pk]) if reverse else ([instance.pk], sorted(pk_set))
    else:
        return
    kept_stale(scope=PRODUCT_SCOPE, keys=products)
    catalogue_changed(lists=ListsMoved(products=products, categories=categories))


def _options_changed(action: str, **kwargs: Any) -> None:
    """A purchase option added to or taken from a kind or a product: whether a product has any is carried
    by every kept product (rare: the dashboard's); no list moves."""
    if action.startswith("post_"):
        kept_stale_all(scope=PRODUCT_SCOPE)
        catalogue_changed(lists=NO_LIST)


# A user's save that changes nothing a page shows (signing in).
SIGN_IN_FIELDS = frozenset({"last_login", "password"})


def _reviewer_changed(
    instance: Model, created: bool = False, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """A reviewer's name is shown with their reviews, kept with the product pages they reviewed."""
    if created or (update_fields and set(update_fields) <= SIGN_IN_FIELDS):  # a new user has reviewed nothing
        return
    reviewed = ProductReview.objects.filter(user_id=instance.pk).values("product_id")
    kept_stale(scope=PRODUCT_SCOPE, keys=Product.objects.filter(pk__in=reviewed))


def connect() -> None:
    for app_label, model_name in WATCHED:
        model = get_model(app_label, model_name)
        uid = f"storefront_cache_{app_label}_{model_name}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}_save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}_delete")
    m2m_changed.connect(
        _certifications_changed,
        sender=Product.certifications.through,
        dispatch_uid="storefront_cache_certifications",
    )
    pre_save.connect(_shop_status_before, sender=Partner, dispatch_uid="storefront_shop_status")
    m2m_changed.connect(
        _categories_changed, sender=Product.categories.through, dispatch_uid="storefront_cache_categories"
    )
    post_save.connect(_reviewer_changed, sender=get_user_model(), dispatch_uid="storefront_cache_reviewer")
    for through in (ProductClass.options.through, Product.product_options.through):
        m2m_changed.connect(
            _options_changed, sender=through, dispatch_uid=f"storefront_cache_{through._meta.model_name}"
        )

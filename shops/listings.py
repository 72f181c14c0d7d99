"""A shop's listings as its farmers manage them: create and edit a listing, pause and resume it,
and the quick price and stock edits of the stock list.

A listing is an Oscar ``Product`` with the shop's one ``StockRecord``. "Stock" here is what the farmer
can still sell (Oscar's ``num_in_stock - num_allocated``); for a pre-sale listing it is the pre-sale quota
left. Setting it writes ``num_in_stock = num_allocated + stock`` in one UPDATE, so boxes bought while the
farmer was typing are never sold twice.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.text import slugify
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.catalogue.models import harvest_window_length
from marketplace.locks import for_update
from marketplace.storefront.caching import catalogue_changed
from marketplace.storefront.lists_moved import NO_LIST
from shops.association.listing_review import (
    ListingReviewError,
    listing_checkable,
    listing_review_move,
    listing_standards_check,
)

Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")
Partner = get_model("partner", "Partner")
ListingStatus = Product.ListingStatus

MAX_STOCK = 1_000_000
MAX_PRICE = Decimal("100000")


class ListingError(ValueError):
    pass


@dataclass(frozen=True)
class ListingData:
    """What a farmer fills in for one listing (checked by ``shops.forms.ListingForm``)."""

    title: str
    category_id: int
    product_class_id: int
    price: Decimal
    stock: int
    title_en: str = ""
    variety: str = ""
    variety_en: str = ""
    pack_size: str = ""
    pack_size_en: str = ""
    net_weight_g: int | None = None
    harvest_start_month: int | None = None
    harvest_end_month: int | None = None
    storage: str = Product.Storage.AMBIENT
    perishable: bool = False
    shelf_life_days: int | None = None
    grade: str = ""
    description: str = ""
    description_en: str = ""
    presale_ship_from: datetime.date | None = None
    certification_ids: tuple[int, ...] = field(default_factory=tuple)
    sku: str = ""


_PRODUCT_FIELDS = (
    "title",
    "title_en",
    "variety",
    "variety_en",
    "pack_size",
    "pack_size_en",
    "net_weight_g",
    "harvest_start_month",
    "harvest_end_month",
    "storage",
    "perishable",
    "shelf_life_days",
    "grade",
    "description",
    "description_en",
    "presale_ship_from",
)


def _sku_next(shop: "Partner") -> str:
    count = StockRecord.objects.filter(partner=shop).count() + 1
    while True:
        sku = f"{shop.code.upper()}-{count:04d}"
        if not StockRecord.objects.filter(partner=shop, partner_sku=sku).exists():
            return sku
        count += 1


def _product_apply(product: "Product", data: ListingData) -> None:
    for name in _PRODUCT_FIELDS:
        setattr(product, name, getattr(data, name))
    product.product_class_id = data.product_class_id
    # save() keeps it too; the bulk path (bulk_create) does not call save().
    product.harvest_window_months = harvest_window_length(data.harvest_start_month, data.harvest_end_month)


def listing_create(*, shop: "Partner", data: ListingData, actor: AbstractBaseUser | None = None) -> "Product":
    """A new listing of ``shop`` with its stock record. A shop the association reviews gets it
    "awaiting review" (not public) until approved; any other shop's listing is on sale at once."""
    review = shop.listing_review_required
    sku = data.sku or _sku_next(shop)
    with transaction.atomic():
        if StockRecord.objects.filter(partner=shop, partner_sku=sku).exists():
            raise ListingError(_("The shop already has a listing with the code “%(sku)s”.") % {"sku": sku})
        product = Product(structure=Product.STANDALONE, shop=shop, origin_village=shop.village)
        _product_apply(product, data)
        product.listing_status = ListingStatus.AWAITING_REVIEW if review else ListingStatus.LIVE
        product.is_public = not review
        product.slug = slugify(data.title_en or sku, allow_unicode=False) or slugify(sku)
        product.save()
        product.categories.set([data.category_id])
        product.certifications.set(data.certification_ids)
        StockRecord.objects.create(
            product=product,
            partner=shop,
            partner_sku=sku,
            price=data.price,
            price_currency="CNY",
            num_in_stock=data.stock,
            num_allocated=0,
        )
    return product


def listing_update(
    *, product: "Product", data: ListingData, actor: AbstractBaseUser | None = None
) -> "Product":
    """Change a listing's details, price and stock (the stock left to sell, see the module note)."""
    with transaction.atomic():
        product = for_update(Product.objects.all()).get(pk=product.pk)
        _product_apply(product, data)
        product.save()
        product.categories.set([data.category_id])
        product.certifications.set(data.certification_ids)
        listing_price_stock_set(product=product, price=data.price, stock=data.stock)
    return product


def listing_price_stock_set(
    *, product: "Product", price: Decimal | None = None, stock: int | None = None
) -> None:
    """The quick edit: a new price and/or a new number of boxes left to sell."""
    changes: dict = {}
    if price is not None:
        if not Decimal("0.01") <= price <= MAX_PRICE:
            raise ListingError(_("A price must be between ¥0.01 and ¥100,000."))
        changes["price"] = price
    if stock is not None:
        if not 0 <= stock <= MAX_STOCK:
            raise ListingError(_("Stock must be between 0 and 1,000,000."))
        changes["num_in_stock"] = Coalesce(F("num_allocated"), 0) + stock
    if not changes:
        return
    with transaction.atomic():
        updated = StockRecord.objects.filter(product=product, partner_id=product.shop_id).update(**changes)
        if not updated:
            raise ListingError(_("This listing has no stock record."))
        if price is not None:  # stock alone is read live by the storefront (marketplace/partner/stock.py)
            catalogue_changed(lists=NO_LIST, product_ids=[product.pk])


def _status_move(
    *, product: "Product", allowed_from: set[str], to_status: str, actor: AbstractBaseUser | None
) -> "Product":
    """The farmer's own move of a listing, through the listing's one move function (an event row with
    who did it)."""
    with transaction.atomic():
        product = for_update(Product.objects.all()).get(pk=product.pk)
        if product.listing_status not in allowed_from:
            raise ListingError(
                _("A listing that is “%(status)s” cannot be changed this way.")
                % {"status": product.get_listing_status_display()}
            )
        return listing_review_move(product=product, to_status=to_status, actor=actor)


def listing_pause(*, product: "Product", actor: AbstractBaseUser | None = None) -> "Product":
    """Take a listing off sale (sold out for the season, a bad week…); its stock and photos stay."""
    return _status_move(
        product=product, allowed_from={ListingStatus.LIVE}, to_status=ListingStatus.PAUSED, actor=actor
    )


def listing_resume(*, product: "Product", actor: AbstractBaseUser | None = None) -> "Product":
    """Put a paused listing back on sale. A listing awaiting review waits for the association."""
    return _status_move(
        product=product, allowed_from={ListingStatus.PAUSED}, to_status=ListingStatus.LIVE, actor=actor
    )


def listing_resubmit(*, product: "Product", actor: AbstractBaseUser | None = None) -> "Product":
    """Send a listing the association sent back, once edited, to its review again. Refused while the
    listing still falls short of the standards: the console lists what to fix first."""
    with transaction.atomic():
        checked = listing_checkable(product.pk)
        if checked.listing_status != ListingStatus.SENT_BACK:
            raise ListingError(
                _("Only a listing sent back for changes can be resubmitted; this one is “%(status)s”.")
                % {"status": checked.get_listing_status_display()}
            )
        problems = listing_standards_check(checked)
        if problems:
            raise ListingError(
                _("Fix these first: %(problems)s") % {"problems": " ".join(p.message for p in problems)}
            )
        try:
            return listing_review_move(product=checked, to_status=ListingStatus.AWAITING_REVIEW, actor=actor)
        except ListingReviewError as error:
            raise ListingError(str(error)) from error

"""Many new listings at once: a farmer's import file, the demo, the benchmark's catalogue.

Each listing is what ``shops.listings.listing_create`` makes (the product with the shop's rules for
review, its one stock record, its category, certifications, attribute values and, here, a photo that is
already in storage), written with ``bulk_create`` per batch instead of a ``save()`` per row. Nothing is
hung on signals then, so the search index is written once per batch (``products_index_bulk``) and the
storefront's cache is bumped once per call, instead of once per product and model.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.text import slugify
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.search.indexing import products_index_bulk
from marketplace.storefront.caching import catalogue_changed
from marketplace.storefront.lists_moved import ListsMoved
from shops.listings import ListingData, ListingError, _product_apply

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import (
        AttributeOption,
        Product,
        ProductAttribute,
        ProductAttributeValue,
        ProductImage,
    )
    from oscar.apps.partner.models import Partner, StockRecord
else:
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    ProductImage = get_model("catalogue", "ProductImage")
    ProductAttribute = get_model("catalogue", "ProductAttribute")
    ProductAttributeValue = get_model("catalogue", "ProductAttributeValue")
ListingStatus = Product.ListingStatus

BATCH_SIZE = 500


@dataclass(frozen=True)
class NewListing:
    """One listing to create: the farmer's ``data`` for ``shop``, plus what an import of prepared
    data may carry: a UPC, a photo already in media storage (by name) and attribute values by code
    (attributes of the listing's kind; an option attribute's value is its option's Chinese text), with the
    English of text values in ``attributes_en``."""

    shop: "Partner"
    data: ListingData
    upc: str | None = None
    image: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    attributes_en: Mapping[str, str] = field(default_factory=dict)


class ListingRowError(ListingError):
    """A listing that cannot be created; ``index`` is its place in the list given."""

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message)
        self.index = index


class ListingCodeTaken(ListingRowError):
    """Another request saved a listing with this listing's code while it was being written."""


def _sku_auto(shop: "Partner", number: int) -> str:
    # The same codes listing_create gives a listing without one (shops.listings._sku_next).
    return f"{shop.code.upper()}-{number:04d}"


def _skus_assign(listings: Sequence[NewListing]) -> list[str]:
    """Every listing's code, as creating them one by one with ``listing_create`` would give them: a
    code written in the data, or the shop's next free automatic code. Two queries per shop."""
    by_shop: dict[int, list[int]] = defaultdict(list)
    for index, listing in enumerate(listings):
        by_shop[listing.shop.pk].append(index)
    skus = [""] * len(listings)
    for indexes in by_shop.values():
        shop = listings[indexes[0]].shop
        written = [listings[i].data.sku for i in indexes if listings[i].data.sku]
        records = StockRecord.objects.filter(partner=shop)
        created = records.count()
        automatic = Q(partner_sku__startswith=f"{shop.code.upper()}-")
        taken = set(
            records.filter(automatic | Q(partner_sku__in=written)).values_list("partner_sku", flat=True)
        )
        for index in indexes:
            sku = listings[index].data.sku
            if not sku:
                number = created + 1
                while _sku_auto(shop, number) in taken:
                    number += 1
                sku = _sku_auto(shop, number)
            elif sku in taken:
                raise ListingRowError(
                    _("The shop already has a listing with the code “%(sku)s”.") % {"sku": sku}, index=index
                )
            taken.add(sku)
            skus[index] = sku
            created += 1
    return skus


def _stock_records_create(records: list["StockRecord"], *, offset: int) -> None:
    """Insert the batch's stock records; when another request took one of their codes since
    ``_skus_assign`` read them, say which listing lost it."""
    try:
        with transaction.atomic():
            StockRecord.objects.bulk_create(records)
    except IntegrityError:
        taken = set(
            StockRecord.objects.filter(partner_sku__in=[r.partner_sku for r in records]).values_list(
                "partner_id", "partner_sku"
            )
        )
        for position, record in enumerate(records):
            if (record.partner_id, record.partner_sku) in taken:
                raise ListingCodeTaken(
                    _("The shop already has a listing with the code “%(sku)s”.")
                    % {"sku": record.partner_sku},
                    index=offset + position,
                ) from None
        raise


def _product(listing: NewListing, sku: str) -> "Product":
    shop, data = listing.shop, listing.data
    review = shop.listing_review_required
    product = Product(
        structure=Product.STANDALONE,
        shop=shop,
        origin_village_id=shop.village_id,
        upc=listing.upc,
        listing_status=ListingStatus.AWAITING_REVIEW if review else ListingStatus.LIVE,
        is_public=not review,
        slug=slugify(data.title_en or sku, allow_unicode=False) or slugify(sku),
    )
    _product_apply(product, data)
    return product


def _attributes_by_code(listings: Sequence[NewListing]) -> dict[tuple[int, str], "ProductAttribute"]:
    wanted = {(item.data.product_class_id, code) for item in listings for code in item.attributes}
    if not wanted:
        return {}
    found = ProductAttribute.objects.filter(
        product_class_id__in={class_id for class_id, _code in wanted},
        code__in={code for _class_id, code in wanted},
    ).prefetch_related("option_group__options")
    return {(attribute.product_class_id, attribute.code): attribute for attribute in found}


def _attribute_values(
    listings: Sequence[NewListing],
    products: Sequence["Product"],
    attributes: Mapping[tuple[int, str], "ProductAttribute"],
    offset: int,
) -> list["ProductAttributeValue"]:
    values: list[ProductAttributeValue] = []
    for position, (listing, product) in enumerate(zip(listings, products, strict=True)):
        for code, value in listing.attributes.items():
            attribute = attributes.get((listing.data.product_class_id, code))
            if attribute is None or attribute.is_multi_option or attribute.is_file:
                raise ListingRowError(
                    _("The listing's kind has no attribute “%(code)s” that can be imported.")
                    % {"code": code},
                    index=offset + position,
                )
            if value is None or value == "":
                continue
            attribute_value = ProductAttributeValue(attribute=attribute, product=product)
            if attribute.is_option:
                attribute_value.value_option = _option_named(attribute, value, index=offset + position)
            else:
                attribute_value.value = value  # Oscar picks the column for the attribute's type
            if attribute.type == ProductAttribute.TEXT:
                attribute_value.value_text_en = listing.attributes_en.get(code, "")
            values.append(attribute_value)
    return values


def _option_named(attribute: "ProductAttribute", value: object, *, index: int) -> "AttributeOption":
    """The option of ``attribute`` whose Chinese text is ``value``, from the prefetched options (Oscar's
    setter would query once per value and fail with DoesNotExist on one that is not offered)."""
    options = attribute.option_group.options.all() if attribute.option_group is not None else []
    for option in options:
        if option.option == value:
            return option
    raise ListingRowError(
        _("“%(value)s” is not one of the choices for “%(code)s”.") % {"value": value, "code": attribute.code},
        index=index,
    )


@transaction.atomic
def listings_create_bulk(*, listings: Sequence[NewListing], batch_size: int = BATCH_SIZE) -> list["Product"]:
    """Create these listings, all or none, ``batch_size`` at a time: products, stock records, category
    and certification links, attribute values and photos with ``bulk_create``, then the batch's search
    index; the storefront's cache is bumped once. A listing that cannot be created raises
    ``ListingRowError`` with its index (``ListingCodeTaken`` when another request took its code
    meanwhile), and nothing is created."""
    skus = _skus_assign(listings)
    attributes = _attributes_by_code(listings)
    categories = Product.categories.through
    certifications = Product.certifications.through
    created: list[Product] = []
    for start in range(0, len(listings), batch_size):
        batch = listings[start : start + batch_size]
        products = Product.objects.bulk_create(
            [_product(listing, sku) for listing, sku in zip(batch, skus[start:], strict=False)]
        )
        pairs = list(zip(batch, products, strict=True))
        attribute_values = _attribute_values(batch, products, attributes, start)
        _stock_records_create(
            [
                StockRecord(
                    product=product,
                    partner=listing.shop,
                    partner_sku=sku,
                    price=listing.data.price,
                    price_currency="CNY",
                    num_in_stock=listing.data.stock,
                    num_allocated=0,
                )
                for (listing, product), sku in zip(pairs, skus[start:], strict=False)
            ],
            offset=start,
        )
        categories.objects.bulk_create(
            [categories(product=product, category_id=listing.data.category_id) for listing, product in pairs]
        )
        certifications.objects.bulk_create(
            [
                certifications(product=product, certification_id=certification_id)
                for listing, product in pairs
                for certification_id in dict.fromkeys(listing.data.certification_ids)
            ]
        )
        ProductAttributeValue.objects.bulk_create(attribute_values)
        ProductImage.objects.bulk_create(
            [
                ProductImage(product=product, original=listing.image, caption="", display_order=0)
                for listing, product in pairs
                if listing.image
            ]
        )
        products_index_bulk(product_ids=[product.pk for product in products])
        created += products
    if created:
        shops = {product.shop_id for product in created}
        catalogue_changed(lists=ListsMoved(products=[product.pk for product in created], shop_counts=shops))
    return created

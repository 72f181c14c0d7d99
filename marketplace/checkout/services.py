"""Placing an order: stock allocated race-safely, one Oscar order, one shop order per shop — all in
one transaction, so a sold-out line leaves nothing half-created. Paying comes after, through Stripe."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from oscar.core.loading import get_class, get_model

from marketplace.checkout.selectors import basket_shop_groups
from marketplace.locks import for_update
from marketplace.order.shop_orders import shop_orders_create
from marketplace.partner.stock import StockRequest, stock_allocate

OrderCreator = get_class("order.utils", "OrderCreator")
OrderTotalCalculator = get_class("checkout.calculators", "OrderTotalCalculator")
if TYPE_CHECKING:
    from oscar.apps.basket.models import Basket
    from oscar.apps.order.models import Order
else:
    Basket = get_model("basket", "Basket")
    Order = get_model("order", "Order")
ShippingAddress = get_model("order", "ShippingAddress")
UserAddress = get_model("address", "UserAddress")
if TYPE_CHECKING:
    from oscar.apps.address.models import Country
else:
    Country = get_model("address", "Country")
ShopByShop = get_class("shipping.methods", "ShopByShop")


@dataclass(frozen=True)
class DeliveryAddress:
    recipient: str
    phone: str
    province: str
    city: str
    county: str
    street: str


class CheckoutError(ValueError):
    pass


class NotOnSale(CheckoutError):  # noqa: N818 - a state, not an error
    """Lines whose product the storefront no longer shows (its shop suspended, its listing paused)."""

    def __init__(self, titles: list[str]) -> None:
        super().__init__(", ".join(titles))
        self.titles = titles


class AlreadyPlaced(CheckoutError):  # noqa: N818 - a state, not an error
    """The basket was turned into an order by another submission (a double click, a second tab)."""

    def __init__(self, order: "Order") -> None:
        super().__init__(f"basket already placed as order {order.number}")
        self.order = order


def _china() -> "Country":
    country, _ = Country.objects.get_or_create(
        iso_3166_1_a2="CN",
        defaults={
            "iso_3166_1_a3": "CHN",
            "iso_3166_1_numeric": "156",
            "printable_name": "中国",
            "name": "中国",
            "is_shipping_country": True,
        },
    )
    return country


def checkout_place(
    *,
    basket: "Basket",
    user: AbstractBaseUser | AnonymousUser,
    email: str,
    address: DeliveryAddress,
    request: HttpRequest | None = None,
) -> "Order":
    """Turn ``basket`` into an unpaid order split by shop. Raises ``SoldOut`` (nothing created) when a
    line's stock is gone at this moment, and ``AlreadyPlaced`` when another submission of the same basket
    placed it first (submissions of one basket are serialised by a lock on its row)."""
    groups = basket_shop_groups(basket)
    if not groups:
        raise CheckoutError("empty basket")
    gone = [
        line.product.get_title() for group in groups for line in group.lines if not line.product.is_on_sale
    ]
    if gone:
        raise NotOnSale(gone)
    method = ShopByShop()
    shipping_charge = method.calculate(basket)
    with transaction.atomic():
        for_update(Basket.objects.all()).filter(pk=basket.pk).values_list("pk", flat=True).first()
        placed = Order.objects.filter(basket_id=basket.pk).first()
        if placed is not None:
            raise AlreadyPlaced(placed)
        shipping_address = ShippingAddress.objects.create(
            first_name=address.recipient,
            phone_number=address.phone,
            state=address.province,
            line4=address.city,
            line2=address.county,
            line1=address.street,
            country=_china(),
        )
        order = OrderCreator().place_order(
            basket=basket,
            total=OrderTotalCalculator().calculate(basket, shipping_charge),
            shipping_method=method,
            shipping_charge=shipping_charge,
            user=user if user is not None and user.is_authenticated else None,
            shipping_address=shipping_address,
            guest_email="" if user is not None and user.is_authenticated else email,
            request=request,
        )
        shop_orders_create(order=order, rules={group.shop.pk: group.rule for group in groups})
        basket.submit()
        # Last, just before the commit: the stock rows stay locked from here to the commit only, so buyers
        # of the same produce queue for milliseconds, not for the whole order's writes. SoldOut undoes it all.
        stock_allocate(
            requests=[
                StockRequest(line.stockrecord_id, line.quantity) for group in groups for line in group.lines
            ]
        )
    return order


ADDRESS_FIELDS = {
    "first_name": "recipient",
    "phone_number": "phone",
    "state": "province",
    "line4": "city",
    "line2": "county",
    "line1": "street",
}


def address_book(*, user: AbstractBaseUser, limit: int = 5) -> list[DeliveryAddress]:
    """The signed-in buyer's saved delivery addresses: the default (the one used last) first, then the
    most used and the newest."""
    saved = UserAddress.objects.filter(user=user).order_by(
        "-is_default_for_shipping", "-num_orders_as_shipping_address", "-date_created"
    )[:limit]
    return [
        DeliveryAddress(**{ours: str(getattr(row, theirs) or "") for theirs, ours in ADDRESS_FIELDS.items()})
        for row in saved
    ]


def address_book_latest(*, user: AbstractBaseUser) -> DeliveryAddress | None:
    """The address to fill the form with: the buyer's default."""
    book = address_book(user=user, limit=1)
    return book[0] if book else None


def address_book_save(*, user: AbstractBaseUser, address: DeliveryAddress) -> None:
    """Keep the address a signed-in buyer just used, as their default (no duplicates: Oscar hashes it)."""
    saved = UserAddress(
        user=user,
        country=_china(),
        is_default_for_shipping=True,
        **{theirs: getattr(address, ours) for theirs, ours in ADDRESS_FIELDS.items()},
    )
    existing = UserAddress.objects.filter(user=user, hash=saved.generate_hash()).first()
    if existing is not None:
        existing.is_default_for_shipping = True
        existing.num_orders_as_shipping_address += 1
        existing.save()
    else:
        saved.num_orders_as_shipping_address = 1
        saved.save()

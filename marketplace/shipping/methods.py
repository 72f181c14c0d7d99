"""Shipping as the marketplace charges it: each shop's parcel at its own rule, summed for the basket."""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from oscar.apps.shipping.methods import *  # noqa: F403  (Oscar's methods stay available by name)
from oscar.apps.shipping.methods import Base
from oscar.core import prices

from marketplace.checkout.selectors import basket_shop_groups

if TYPE_CHECKING:
    from oscar.apps.basket.models import Basket


class ShopByShop(Base):
    code = "shop-by-shop"
    name = _("Delivery by each shop")

    def calculate(self, basket: "Basket") -> prices.Price:
        total = sum((group.shipping.charge for group in basket_shop_groups(basket)), Decimal("0.00"))
        return prices.Price(
            currency=basket.currency or "CNY", excl_tax=total, incl_tax=total, tax=Decimal("0.00")
        )

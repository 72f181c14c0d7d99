"""Oscar's basket middleware, which applies offers to the visitor's basket only when the site has offers
(marketplace.basket.offers): Oscar's first asks whether the basket is empty, loading its lines, on every
request that reads the basket, even for a page that shows only how many items it holds."""

from typing import TYPE_CHECKING

from django.http import HttpRequest
from oscar.apps.basket.middleware import BasketMiddleware as OscarBasketMiddleware

from marketplace.basket.offers import offers_in_use

if TYPE_CHECKING:
    from marketplace.basket.models import Basket


class BasketMiddleware(OscarBasketMiddleware):
    def apply_offers_to_basket(self, request: HttpRequest, basket: "Basket") -> None:
        if basket.id is not None and offers_in_use():  # a basket never saved is empty: nothing to apply
            super().apply_offers_to_basket(request, basket)

"""Oscar's basket forms, forked: nothing the storefront would not show can be added to a basket or have
its quantity raised there (a product id posted by hand, a shop suspended since); a product without
purchase options is not asked for them again when the addition is made."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from oscar.apps.basket import forms as oscar_forms
from oscar.apps.basket.forms import *  # noqa: F403  (Oscar's other basket forms, unchanged)

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product


def not_on_sale_error(product: "Product") -> forms.ValidationError:
    return forms.ValidationError(
        _("“%(title)s” is not on sale at the moment.") % {"title": product.get_title()}, code="not_on_sale"
    )


class AddToBasketForm(oscar_forms.AddToBasketForm):
    def clean(self) -> dict[str, Any]:
        if not self.product.is_on_sale:
            raise not_on_sale_error(self.product)
        return super().clean()

    def cleaned_options(self) -> list[dict[str, Any]]:
        # Oscar's reads the product's options again (a query) even when building the form found none.
        if not self.parent_product.has_options:
            return []
        options: list[dict[str, Any]] = super().cleaned_options()
        return options


class BasketLineForm(oscar_forms.BasketLineForm):
    def check_permission(self, qty: int) -> None:
        if qty > self.instance.quantity and not self.instance.product.is_on_sale:
            raise not_on_sale_error(self.instance.product)
        super().check_permission(qty)

"""Oscar's basket, with its lines loaded together with everything the basket and checkout pages read
(product class and stock records for the strategy, the shop for grouping), so those pages run the same
number of queries for one line or ten."""

from typing import Any

from django.db.models import QuerySet
from oscar.apps.basket.abstract_models import AbstractBasket


class Basket(AbstractBasket):
    _lines: "QuerySet[Any] | None"  # Oscar's cache of the lines, set in its __init__

    def all_lines(self) -> QuerySet[Any]:
        if self.id is None:
            return self.lines.model.objects.none()
        if self._lines is None:
            self._lines = (
                self.lines.select_related(
                    "product",
                    "product__product_class",
                    "product__shop",
                    "stockrecord",
                    "stockrecord__partner",
                )
                .prefetch_related("attributes", "product__images", "product__stockrecords")
                .order_by(self._meta.pk.name)
            )
        return self._lines

    @property
    def num_lines(self) -> int:
        # Oscar's counts the lines with a query and then, as every caller goes on to read them, loads them
        # with another; loaded once here (is_empty, the checkout's "your basket is empty").
        return len(self.all_lines())


from oscar.apps.basket.models import *  # noqa: E402,F403

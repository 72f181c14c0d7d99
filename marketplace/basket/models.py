"""Oscar's basket, with its lines loaded together with everything the basket and checkout pages read
(product class and stock records for the strategy, the shop for grouping), so those pages run the same
number of queries for one line or ten; and its number of items and currency read in the database when the
lines are not loaded (the header on every page, the checks before an addition)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet, Sum
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

    @contextmanager
    def lines_priced(self) -> Iterator[None]:
        """Within it, a basket whose lines are not loaded yet reads them with what their prices need
        (product, kind, stock records: two queries, not four), for a message that shows the total only;
        after it, they are not loaded, so the rest of the request reads them whole."""
        if self.id is None or self._lines is not None:
            yield
            return
        self._lines = (
            self.lines.select_related("product", "product__product_class", "stockrecord")
            .prefetch_related("product__stockrecords")
            .order_by(self._meta.pk.name)
        )
        try:
            yield
        finally:
            self._lines = None

    @property
    def num_lines(self) -> int:
        # Oscar's counts the lines with a query and then, as every caller goes on to read them, loads them
        # with another; loaded once here (is_empty, the checkout's "your basket is empty").
        return len(self.all_lines())

    @property
    def num_items(self) -> int:
        # Oscar's adds up the quantities of the loaded lines, loading them (four queries, with their
        # products, stock records, options and photos) when they are not: one SUM then. The quantities
        # are the lines' own, so the two agree (offers change prices, not quantities).
        if self.id is None:
            return 0
        if self._lines is not None:
            return sum(line.quantity for line in self._lines)
        counted: int | None = self.lines.aggregate(items=Sum("quantity"))["items"]
        return counted or 0

    @property
    def currency(self) -> str | None:
        # Oscar's is the first loaded line's, loading them all (the check before an addition): one line's
        # currency read alone then.
        if self.id is None:
            return None
        if self._lines is not None:
            return next((line.price_currency for line in self._lines), None)
        first: str | None = self.lines.order_by("pk").values_list("price_currency", flat=True).first()
        return first


from oscar.apps.basket.models import *  # noqa: E402,F403

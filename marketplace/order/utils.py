"""Oscar's OrderCreator without its stock allocation: Oscar adds to ``num_allocated`` without
re-checking availability (concurrent checkouts oversell), so our checkout allocates every line with
``marketplace.partner.stock.stock_allocate`` in the same transaction, before the order is created."""

from typing import TYPE_CHECKING

from oscar.apps.order.utils import OrderCreator as OscarOrderCreator
from oscar.apps.order.utils import OrderDispatcher, OrderNumberGenerator  # noqa: F401

if TYPE_CHECKING:
    from oscar.apps.order.models import Line


class OrderCreator(OscarOrderCreator):
    def update_stock_records(self, line: "Line") -> None:
        """Stock was allocated, race-safely, by the checkout service."""

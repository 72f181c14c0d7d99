"""Stock that is never oversold.

Oscar's ``StockRecord.allocate`` adds to ``num_allocated`` without re-checking availability, so
concurrent checkouts oversell. Here every allocation is one conditional UPDATE that re-checks
``num_in_stock - num_allocated >= quantity`` at the moment it writes (PostgreSQL re-evaluates the WHERE
on the row it waited for), in stock-record order so two baskets never lock each other in turn, inside a
savepoint so a basket is allocated whole or not at all.

Moving stock does not invalidate the storefront's cache: pages read the stock they show live (the product
page's buy box, and every cached grid's sold-out flags through ``{% live_stock %}``), so a stream of orders
leaves the cached catalogue warm.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from oscar.core.loading import get_model

StockRecord = get_model("partner", "StockRecord")


@dataclass(frozen=True)
class StockRequest:
    stockrecord_id: int
    quantity: int


class SoldOut(Exception):
    """Some lines could not be allocated; nothing was."""

    def __init__(self, stockrecord_ids: list[int]) -> None:
        self.stockrecord_ids = stockrecord_ids
        super().__init__(f"sold out: stock records {stockrecord_ids}")


def _merged(requests: Iterable[StockRequest]) -> list[StockRequest]:
    totals: dict[int, int] = {}
    for request in requests:
        if request.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {request.quantity}")
        totals[request.stockrecord_id] = totals.get(request.stockrecord_id, 0) + request.quantity
    return [StockRequest(pk, quantity) for pk, quantity in sorted(totals.items())]


def stock_allocate(*, requests: Iterable[StockRequest]) -> None:
    """Allocate every request or none; raise ``SoldOut`` naming the records that were short."""
    requests = _merged(requests)
    short: list[int] = []
    with transaction.atomic():  # a savepoint: raising SoldOut undoes this basket's earlier lines
        for request in requests:
            allocated = Coalesce(F("num_allocated"), 0)
            updated = StockRecord.objects.filter(
                Q(num_in_stock__isnull=True) | Q(num_in_stock__gte=allocated + request.quantity),
                pk=request.stockrecord_id,
            ).update(num_allocated=allocated + request.quantity)
            if not updated:
                short.append(request.stockrecord_id)
        if short:
            raise SoldOut(short)


def stock_release(*, requests: Iterable[StockRequest]) -> None:
    """Give back allocations of an order that will not be paid (never below zero)."""
    with transaction.atomic():
        for request in _merged(requests):
            allocated = Coalesce(F("num_allocated"), 0)
            StockRecord.objects.filter(pk=request.stockrecord_id, num_allocated__gte=request.quantity).update(
                num_allocated=allocated - request.quantity
            )


def stock_consume(*, requests: Iterable[StockRequest]) -> None:
    """The boxes left the shop (handed to logistics): take them off both the stock and the allocation."""
    with transaction.atomic():
        for request in _merged(requests):
            allocated = Coalesce(F("num_allocated"), 0)
            StockRecord.objects.filter(pk=request.stockrecord_id, num_allocated__gte=request.quantity).update(
                num_allocated=allocated - request.quantity, num_in_stock=F("num_in_stock") - request.quantity
            )

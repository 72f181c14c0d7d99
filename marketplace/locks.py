"""Row locks, taken in one documented order. Every ``SELECT … FOR UPDATE`` of the product goes through
``for_update`` (a lint check, ``devtools/check_locks.py``, refuses one anywhere else), which takes the rows in
primary-key order and refuses a model that has no place in ``LOCK_ORDER``.

A transaction that locks rows of several kinds takes them in the order of ``LOCK_ORDER``, so two flows
can never wait for each other in a circle (Saleor's ``checkout/lock_objects.py`` is the model):

- checkout: the basket, then (the new order and) its stock records;
- paying: the buyer's order, its payments, its shop orders, then stock records;
- cancelling and refunding: the shop order, then its refund, then stock records;
- routing and tracking: the shop order (a routing batch: all of its shop orders, by primary key), then its
  consignment, then its legs (then partner day loads, updated conditionally; a routing batch books them in
  one statement in (partner id, day) order, and undoes a refused round before booking again, so it never
  holds one while waiting for a lower one);
- drawing order lines from harvest batches: the shop's open batches (``shops/harvest/services.py``);
- the rest lock one kind only (listings, shops, applications, statements, payout accounts, facts).

Stock records and partner day loads are never selected for update: they change by conditional
``UPDATE … WHERE`` (``marketplace/partner/stock.py``, ``logistics/routing.py``), which locks the row it
changes; those come last in every flow."""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)

# Model labels ("app_label.ModelName"): a flow that holds a lock on one may then lock those after it only.
LOCK_ORDER: tuple[str, ...] = (
    "basket.Basket",
    "order.Order",
    "payments.Payment",
    "order.ShopOrder",
    "payments.Refund",
    "logistics.Consignment",
    "logistics.Leg",
    # One kind per flow from here on; listed so that every lock is named here.
    "partner.Partner",
    "catalogue.Product",
    "reviews.ProductReview",
    "catalogue.ListingReport",
    "association.CategoryStandard",
    "association.ShopApplication",
    "settlement.CommissionRule",
    "settlement.Statement",
    "settlement.ShopPayoutAccount",
    "harvest.HarvestBatch",
    "outbox.OutboxMessage",
)
RANK = {label: n for n, label in enumerate(LOCK_ORDER)}


class LockOrderError(RuntimeError):
    pass


def lock_rank(model: type[Model]) -> int:
    label = model._meta.label
    if label not in RANK:
        raise LockOrderError(f"{label} has no place in marketplace.locks.LOCK_ORDER")
    return RANK[label]


def for_update(
    queryset: "QuerySet[M]", *, of: tuple[str, ...] = (), no_key: bool = False, skip_locked: bool = False
) -> "QuerySet[M]":
    """``queryset``'s rows locked for update (in the transaction the caller holds), in primary-key order.
    ``of``: lock only these tables of a query with joins (``"self"`` for the model's own); ``no_key``:
    ``FOR NO KEY UPDATE``, which lets rows that point at these be inserted meanwhile; ``skip_locked``: the
    rows another transaction holds are left out instead of waited for (a claim of work to share out)."""
    lock_rank(queryset.model)
    return queryset.select_for_update(of=of, no_key=no_key, skip_locked=skip_locked).order_by("pk")

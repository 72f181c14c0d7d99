"""Product views and basket additions counted off the request path.

Oscar's analytics app writes ``UPDATE analytics_productrecord`` on every product page view and every
addition to a basket. On a busy page that is a write per read (and, for a popular product, every buyer's
request waiting its turn on the same row), and on SQLite the workers queue behind each other for it. We
count anonymous views and every anonymous buyer's additions in the worker's memory and hand them to a
Celery task in batches (every ``ANALYTICS_VIEW_BATCH`` counts or ``ANALYTICS_VIEW_SECONDS`` seconds); a
signed-in buyer's view or addition is still recorded at once through Oscar's own receiver, since it feeds
that buyer's history and record. A worker that dies loses at most one unsent batch of counts, never
anything else.
"""

import threading
import time
import uuid
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from oscar.apps.analytics import receivers as oscar_receivers
from oscar.apps.basket.signals import basket_addition
from oscar.apps.catalogue.signals import product_viewed
from oscar.apps.order.signals import order_placed
from oscar.core.loading import get_model

from marketplace.outbox.services import outbox_emit

# Written to the outbox with each batch of anonymous views (key: the batch): the counts are added.
PRODUCT_VIEWS_COUNTED = "storefront.product_views_counted"

ProductRecord = get_model("analytics", "ProductRecord")
UserRecord = get_model("analytics", "UserRecord")
Order = get_model("order", "Order")
OrderLine = get_model("order", "Line")
if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
else:
    Product = get_model("catalogue", "Product")


VIEWS = "views"
ADDITIONS = "additions"


class ViewBuffer:
    """Counts per kind (``VIEWS``, ``ADDITIONS``) and product, handed out together when due."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int]] = Counter()
        self._since = time.monotonic()

    def add(self, product_id: int, kind: str = VIEWS) -> dict[str, dict[int, int]] | None:
        """Count one view (or addition); return the batch to send, per kind, when it is due."""
        with self._lock:
            self._counts[(kind, product_id)] += 1
            due = (
                sum(self._counts.values()) >= settings.ANALYTICS_VIEW_BATCH
                or time.monotonic() - self._since >= settings.ANALYTICS_VIEW_SECONDS
            )
            if not due:
                return None
            counted, self._counts, self._since = self._counts, Counter(), time.monotonic()
        batch: dict[str, dict[int, int]] = {}
        for (each, pk), n in counted.items():
            batch.setdefault(each, {})[pk] = n
        return batch


buffer = ViewBuffer()


def _batch_emit(batch: dict[str, dict[int, int]]) -> None:
    # JSON keys are strings: the subscriber turns them back into ids.
    outbox_emit(
        topic=PRODUCT_VIEWS_COUNTED,
        key=uuid.uuid4().hex,
        payload={kind: {str(k): v for k, v in counts.items()} for kind, counts in batch.items()},
    )


def product_views_add(*, counts: dict[int, int], additions: dict[int, int] | None = None) -> None:
    """Add view counts (and basket additions) to Oscar's ProductRecord rows (one conditional UPDATE per
    product). Counts of a product deleted since they were counted are dropped (its record would break the
    foreign key)."""
    additions = additions or {}
    existing = set(Product.objects.filter(pk__in=[*counts, *additions]).values_list("pk", flat=True))
    for product_id in sorted(set(counts) | set(additions)):
        if product_id not in existing:
            continue
        try:
            _product_views_add_one(
                product_id=product_id, views=counts.get(product_id, 0), additions=additions.get(product_id, 0)
            )
        except IntegrityError:  # the product went meanwhile: its foreign key fails when this commits
            continue


@transaction.atomic
def _product_views_add_one(*, product_id: int, views: int, additions: int) -> None:
    increments = {
        "num_views": F("num_views") + views,
        "num_basket_additions": F("num_basket_additions") + additions,
    }
    if ProductRecord.objects.filter(product_id=product_id).update(**increments):
        return
    try:
        with transaction.atomic():
            ProductRecord.objects.create(
                product_id=product_id, num_views=views, num_basket_additions=additions
            )
    except IntegrityError:  # created meanwhile by another batch
        ProductRecord.objects.filter(product_id=product_id).update(**increments)


def receive_product_view(
    sender: object, product: "Product", user: AbstractBaseUser | AnonymousUser | None, **kwargs: Any
) -> None:
    if user is not None and user.is_authenticated:
        oscar_receivers.receive_product_view(sender, product=product, user=user, **kwargs)
        return
    batch = buffer.add(product.pk)
    if batch:
        _batch_emit(batch)


def receive_basket_addition(
    sender: object, product: "Product", user: AbstractBaseUser | AnonymousUser | None, **kwargs: Any
) -> None:
    if kwargs.get("raw", False):
        return
    if user is not None and user.is_authenticated:
        oscar_receivers.receive_basket_addition(sender, product=product, user=user, **kwargs)
        return
    batch = buffer.add(product.pk, ADDITIONS)
    if batch:
        _batch_emit(batch)


def order_purchases_record(*, order_id: int) -> None:
    """A paid order's purchases, counted per product and for its signed-in buyer (what Oscar's own receiver
    did on the checkout's request, on every placed order: here off the request path, and only once paid)."""
    orders_purchases_record(order_ids=[order_id])


@transaction.atomic
def orders_purchases_record(*, order_ids: list[int]) -> None:
    """Paid orders' purchases counted together: one read of the orders and one of their lines, then one
    increment per product and per buyer (products, then buyers, in id order: two batches at once never wait
    for each other in a circle)."""
    orders = list(
        Order.objects.filter(pk__in=order_ids).values_list("pk", "user_id", "total_incl_tax", "date_placed")
    )
    missing = set(order_ids) - {order[0] for order in orders}
    if missing:
        raise Order.DoesNotExist(f"orders {sorted(missing)}")
    lines: dict[int, list[tuple[int | None, int]]] = defaultdict(list)
    for order_id, product_id, quantity in OrderLine.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "product_id", "quantity"
    ):
        lines[order_id].append((product_id, quantity))
    bought: Counter[int] = Counter()
    for order_lines in lines.values():
        for product_id, quantity in order_lines:
            if product_id is not None:
                bought[product_id] += quantity
    for product_id, quantity in sorted(bought.items()):
        _record_add(ProductRecord, {"product_id": product_id}, {"num_purchases": quantity})
    buyers: dict[int, dict[str, Any]] = {}
    for order_id, user_id, total, placed in sorted(orders):
        if user_id is None:
            continue
        counted = buyers.setdefault(
            user_id,
            {"num_orders": 0, "num_order_lines": 0, "num_order_items": 0, "total_spent": 0, "last": placed},
        )
        counted["num_orders"] += 1
        counted["num_order_lines"] += len(lines[order_id])
        counted["num_order_items"] += sum(quantity for _product, quantity in lines[order_id])
        counted["total_spent"] += total
        counted["last"] = max(counted["last"], placed)
    for user_id, counted in sorted(buyers.items()):
        last = counted.pop("last")
        _record_add(UserRecord, {"user_id": user_id}, counted, date_last_order=last)


def _record_add(
    model: type[Model], where: dict[str, int], increments: dict[str, Any], **values: object
) -> None:
    """Add ``increments`` to the record ``where`` (and set ``values``), creating it when missing; one made
    meanwhile by another worker is added to instead."""
    added = {name: F(name) + n for name, n in increments.items()}
    records = model._default_manager
    if records.filter(**where).update(**added, **values):
        return
    try:
        with transaction.atomic():
            records.create(**where, **increments, **values)
    except IntegrityError:
        records.filter(**where).update(**added, **values)


def connect() -> None:
    # Purchases are counted when an order is paid, through the outbox (subscribers.py), not on placing.
    order_placed.disconnect(oscar_receivers.receive_order_placed)
    product_viewed.disconnect(oscar_receivers.receive_product_view)
    product_viewed.connect(receive_product_view, dispatch_uid="storefront_product_viewed")
    basket_addition.disconnect(oscar_receivers.receive_basket_addition)
    basket_addition.connect(receive_basket_addition, dispatch_uid="storefront_basket_addition")

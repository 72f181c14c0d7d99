"""Writing the sales ledger. Called inside the transaction of the move they record, so a sale or refund
and its ledger row commit together or not at all; each is idempotent (one row per sale, one per refund)."""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone

from marketplace.ledger.models import SaleEntry
from marketplace.order.models import ShopOrder
from marketplace.payments.models import Refund

ZERO = Decimal("0.00")


def ledger_sales_record(*, shop_orders: Iterable[ShopOrder], at: datetime.datetime) -> None:
    """The shop orders were paid at ``at``: one sale row each (a shop order already in the ledger keeps
    its row)."""
    day = timezone.localdate(at)
    SaleEntry.objects.bulk_create(
        [
            SaleEntry(
                kind=SaleEntry.Kind.SALE,
                shop_id=shop_order.shop_id,
                shop_order_id=shop_order.pk,
                at=at,
                day=day,
                goods=shop_order.lines_total,
                shipping=shop_order.shipping_charge,
                amount=shop_order.lines_total + shop_order.shipping_charge,
            )
            for shop_order in shop_orders
        ],
        ignore_conflicts=True,
    )


def ledger_refund_record(*, refund: Refund, shop_id: int) -> None:
    """The refund succeeded: one refund row, dated when the refund was made."""
    SaleEntry.objects.get_or_create(
        refund=refund,
        defaults={
            "kind": SaleEntry.Kind.REFUND,
            "shop_id": shop_id,
            "shop_order_id": refund.shop_order_id,
            "at": refund.created_at,
            "day": timezone.localdate(refund.created_at),
            "goods": ZERO,
            "shipping": ZERO,
            "amount": -refund.amount,
        },
    )

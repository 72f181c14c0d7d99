"""The sales review's facts follow sales and refunds (from the outbox): recomputed per shop and day."""

import datetime
from typing import Any

from django.utils import timezone

from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe
from marketplace.payments.models import Refund
from marketplace.payments.services import REFUND_SUCCEEDED
from shops.sales.facts import sales_facts_refresh


def facts_after_sale(key: str, payload: dict[str, Any]) -> None:
    sales_facts_refresh(day=datetime.date.fromisoformat(payload["day"]), shop_ids=payload["shop_ids"])


def facts_after_refund(key: str, payload: dict[str, Any]) -> None:
    refund = (
        Refund.objects.select_related("shop_order")
        .only("created_at", "shop_order__shop_id")
        .get(pk=payload["refund_id"])
    )
    sales_facts_refresh(day=timezone.localdate(refund.created_at), shop_ids=[refund.shop_order.shop_id])


subscribe(topic=ORDER_PAID, name="sales.facts_after_sale", run=facts_after_sale)
subscribe(topic=REFUND_SUCCEEDED, name="sales.facts_after_refund", run=facts_after_refund)

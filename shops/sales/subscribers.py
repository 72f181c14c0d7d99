"""The sales review's facts follow sales and refunds (from the outbox).

A paid order's sales (its shop orders) are noted as pending with its day and buyer, then caught up: each
sale not counted yet is added to its day's facts, and the buyer's chains are rebuilt, for every order
that arrived while the previous catch-up ran. Not atomic with the outbox row: the note commits first so
that a catch-up running in another worker can take it; a redelivery notes the sales again and the
catch-up finds them counted (``SaleCounted``), so nothing is added twice. A refund rebuilds its day."""

import datetime
from typing import Any

from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe
from marketplace.payments.models import Refund
from marketplace.payments.services import REFUND_SUCCEEDED
from shops.sales.facts import buyer_key, sales_facts_catch_up, sales_facts_pending_add, sales_facts_refresh

Order = get_model("order", "Order")


def facts_after_sale(key: str, payload: dict[str, Any]) -> None:
    user_id, email = Order.objects.values_list("user_id", "guest_email").get(pk=payload["order_id"])
    sales = dict(
        ShopOrder.objects.filter(pk__in=payload.get("shop_order_ids", [])).values_list("pk", "shop_id")
    )
    sales_facts_pending_add(
        day=datetime.date.fromisoformat(payload["day"]),
        shop_ids=payload["shop_ids"],
        buyer_key=buyer_key(user_id=user_id, email=email or ""),
        sales=sales,
    )
    sales_facts_catch_up()


def facts_after_refund(key: str, payload: dict[str, Any]) -> None:
    refund = (
        Refund.objects.select_related("shop_order")
        .only("created_at", "shop_order__shop_id")
        .get(pk=payload["refund_id"])
    )
    sales_facts_refresh(day=timezone.localdate(refund.created_at), shop_ids=[refund.shop_order.shop_id])


subscribe(topic=ORDER_PAID, name="sales.facts_after_sale", run=facts_after_sale, atomic=False)
subscribe(topic=REFUND_SUCCEEDED, name="sales.facts_after_refund", run=facts_after_refund)

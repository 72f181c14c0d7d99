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
    facts_after_sales([(key, payload)])


def facts_after_sales(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Paid orders' sales noted as pending, then caught up once for all of them."""
    payloads = [payload for _key, payload in events]
    buyers = {
        pk: buyer_key(user_id=user_id, email=email or "")
        for pk, user_id, email in Order.objects.filter(
            pk__in=[payload["order_id"] for payload in payloads]
        ).values_list("pk", "user_id", "guest_email")
    }
    shop_of = dict(
        ShopOrder.objects.filter(
            pk__in=[pk for payload in payloads for pk in payload.get("shop_order_ids", [])]
        ).values_list("pk", "shop_id")
    )
    for payload in payloads:
        if payload["order_id"] not in buyers:
            raise Order.DoesNotExist(f"order {payload['order_id']}")
        sales_facts_pending_add(
            day=datetime.date.fromisoformat(payload["day"]),
            shop_ids=payload["shop_ids"],
            buyer_key=buyers[payload["order_id"]],
            sales={pk: shop_of[pk] for pk in payload.get("shop_order_ids", []) if pk in shop_of},
        )
    sales_facts_catch_up()


def facts_after_refund(key: str, payload: dict[str, Any]) -> None:
    refund = (
        Refund.objects.select_related("shop_order")
        .only("created_at", "shop_order__shop_id")
        .get(pk=payload["refund_id"])
    )
    sales_facts_refresh(day=timezone.localdate(refund.created_at), shop_ids=[refund.shop_order.shop_id])


subscribe(
    topic=ORDER_PAID,
    name="sales.facts_after_sale",
    run=facts_after_sale,
    run_many=facts_after_sales,
    atomic=False,
)
subscribe(topic=REFUND_SUCCEEDED, name="sales.facts_after_refund", run=facts_after_refund)

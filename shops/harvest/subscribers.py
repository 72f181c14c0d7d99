"""After a sale: the paid lines draw from the shop's harvest batches and each parcel gets its trace code;
after a paid parcel is cancelled: its draws go back to their batches."""

from typing import Any

from marketplace.order.cancellation import PAID_SHOP_ORDER_CANCELLED
from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe
from shops.harvest.services import batch_draws_settle, parcel_traces_ensure, shops_with_batches


def paid_order_draw(key: str, payload: dict[str, Any]) -> None:
    paid_orders_draw([(key, payload)])


def paid_orders_draw(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Several paid orders: their parcels' trace codes made together, each shop's batches settled once (in
    shop order)."""
    parcel_traces_ensure(shop_order_ids=[pk for _key, payload in events for pk in payload["shop_order_ids"]])
    for shop_id in shops_with_batches([pk for _key, payload in events for pk in payload["shop_ids"]]):
        batch_draws_settle(shop_id=shop_id)


def cancelled_parcel_release(key: str, payload: dict[str, Any]) -> None:
    batch_draws_settle(shop_id=payload["shop_id"])


subscribe(topic=ORDER_PAID, name="harvest.paid_order_draw", run=paid_order_draw, run_many=paid_orders_draw)
subscribe(
    topic=PAID_SHOP_ORDER_CANCELLED, name="harvest.cancelled_parcel_release", run=cancelled_parcel_release
)

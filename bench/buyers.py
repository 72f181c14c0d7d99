"""Buyers placing and paying orders at a steady rate beside the storefront benchmark (`make bench`'s
mixed workload): run as its own process against the benchmark's database and cache, until SIGTERM.

    DJANGO_SETTINGS_MODULE=bench.settings … python -m bench.buyers --rate 2 --report buyers.json

Each checkout is the product's own path, in-process: a basket of one or two products of the catalogue, the
real ``checkout_place`` (stock allocated in one conditional UPDATE per line, the order split by shop) and the
real ``order_paid`` under the order's lock (shop orders paid, the ledger, the paid order's follow-ups in the
outbox, delivered in-process at commit as on the embedded default). Stripe is left out: the payment's own
cost is measured by `make bench-checkout`. Every fifth order is cancelled before payment, so stock is also
released. Stock is what the workload is about: it moves on every checkout, as on a busy day.
"""

import argparse
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
CANCEL_EVERY = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=2.0, help="checkouts per second (default 2)")
    parser.add_argument("--report", required=True, help="JSON file written on exit")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import transaction
    from oscar.apps.partner.strategy import Default
    from oscar.core.loading import get_model

    from marketplace.checkout.services import DeliveryAddress, checkout_place
    from marketplace.order.cancellation import shop_order_cancel
    from marketplace.order.shop_orders import order_lock, order_paid
    from marketplace.partner.stock import SoldOut

    Basket = get_model("basket", "Basket")
    StockRecord = get_model("partner", "StockRecord")

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    rng = random.Random(args.seed)
    product_ids = list(
        StockRecord.objects.filter(num_in_stock__gt=10, product__is_public=True).values_list(
            "product_id", flat=True
        )
    )
    products = {p.pk: p for p in get_model("catalogue", "Product").objects.filter(pk__in=product_ids)}
    address = DeliveryAddress("王小明", "+8613800138000", "浙江省", "丽水市", "遂昌县", "妙高街道 1 号")
    placed = paid = cancelled = sold_out = 0
    started = time.monotonic()
    next_at = started
    while not stopping:
        basket = Basket.objects.create()
        basket.strategy = Default()
        for product_id in rng.sample(product_ids, rng.choice((1, 1, 2))):
            basket.add_product(products[product_id], rng.choice((1, 1, 2)))
        try:
            order = checkout_place(basket=basket, user=None, email="bench-buyer@example.cn", address=address)
        except SoldOut:
            sold_out += 1
        else:
            placed += 1
            if placed % CANCEL_EVERY == 0:
                for shop_order_id in order.shop_orders.values_list("pk", flat=True):
                    shop_order_cancel(shop_order_id=shop_order_id, reason="bench: not paid")
                cancelled += 1
            else:
                with transaction.atomic():
                    order_lock(order_id=order.pk)
                    order_paid(order_id=order.pk, reason="bench")
                paid += 1
        next_at += 1 / args.rate
        time.sleep(max(0.0, next_at - time.monotonic()))
    seconds = time.monotonic() - started
    figures = {
        "seconds": round(seconds, 1),
        "placed": placed,
        "paid": paid,
        "cancelled": cancelled,
        "sold_out": sold_out,
        "checkouts_per_s": round((placed + sold_out) / seconds, 2) if seconds else 0.0,
    }
    Path(args.report).write_text(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

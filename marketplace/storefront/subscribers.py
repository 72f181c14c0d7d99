"""What the storefront does when the outbox says so: bump the catalogue version, add view counts."""

from marketplace.order.shop_orders import ORDER_PAID
from marketplace.outbox.services import subscribe
from marketplace.storefront.analytics import (
    PRODUCT_VIEWS_COUNTED,
    order_purchases_record,
    product_views_add,
)
from marketplace.storefront.caching import CATALOGUE_CHANGED, catalogue_version_bump

subscribe(
    topic=CATALOGUE_CHANGED,
    name="storefront.catalogue_version_bump",
    run=lambda key, payload: catalogue_version_bump(),
)
subscribe(
    topic=ORDER_PAID,
    name="storefront.purchases_count",
    run=lambda key, payload: order_purchases_record(order_id=payload["order_id"]),
)
subscribe(
    topic=PRODUCT_VIEWS_COUNTED,
    name="storefront.product_views_add",
    run=lambda key, payload: product_views_add(
        counts={int(product_id): views for product_id, views in payload["views"].items()}
    ),
)

"""A paid order's purchases counted off the request path (the outbox's ``storefront.purchases_count``):
per product, and per signed-in buyer; several orders counted together as each would be alone."""

from oscar.core.loading import get_model

from marketplace.storefront.analytics import order_purchases_record, orders_purchases_record
from tests.shops.sales.conftest import buyer, order_place, world  # noqa: F401  (world: a fixture)

ProductRecord = get_model("analytics", "ProductRecord")
UserRecord = get_model("analytics", "UserRecord")


def counts() -> tuple[dict, dict]:
    products = dict(ProductRecord.objects.values_list("product_id", "num_purchases"))
    users = {
        row[0]: row[1:]
        for row in UserRecord.objects.values_list(
            "user_id", "num_orders", "num_order_lines", "num_order_items", "total_spent", "date_last_order"
        )
    }
    return products, users


def test_orders_counted_together_count_as_each_alone(world):  # noqa: F811
    regular = buyer()
    orders = [
        order_place((world.tea, 2), (world.peaches, 1), user=regular),
        order_place((world.peaches, 3), email="guest7@example.cn"),
        order_place((world.tea, 1), (world.shoots, 4), user=regular),
    ]
    for order in orders:
        order_purchases_record(order_id=order.pk)
    alone = counts()
    ProductRecord.objects.all().delete()
    UserRecord.objects.all().delete()

    orders_purchases_record(order_ids=[order.pk for order in orders])

    assert counts() == alone
    products, users = alone
    assert products == {world.tea.pk: 3, world.peaches.pk: 4, world.shoots.pk: 4}
    own = [order for order in orders if order.user_id == regular.pk]
    assert users[regular.pk][:4] == (2, 4, 8, sum(order.total_incl_tax for order in own))
    assert users[regular.pk][4] == max(order.date_placed for order in own)

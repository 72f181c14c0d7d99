"""The ledger's backfill (the data migration that fills it on a database that had sales before it existed)
writes the same rows the paid move and the refund's success write."""

import importlib

from django.apps import apps

from marketplace.ledger.models import SaleEntry
from marketplace.payments.models import Refund
from tests.shops.sales.conftest import buyer, refund_make, sale, shop_order_of, world  # noqa: F401  (the fixture)

backfill = importlib.import_module("marketplace.ledger.migrations.0002_backfill").backfill


def rows() -> set[tuple]:
    return set(
        SaleEntry.objects.values_list(
            "kind", "shop_id", "shop_order_id", "refund_id", "at", "day", "goods", "shipping", "amount"
        )
    )


def test_the_backfill_writes_what_the_moves_wrote(world):  # noqa: F811  (the imported fixture)
    first = sale((world.tea, 2), (world.shoots, 1), paid_at="2026-03-31 23:30", user=buyer())
    sale((world.peaches, 1), paid_at="2026-04-01 00:10", email="lin@example.cn")
    tea_part = shop_order_of(first, world.tea_shop)
    refund_make(tea_part, when="2026-04-02 10:00", amount=tea_part.shipping_charge)
    refund_make(tea_part, when="2026-04-03 10:00", amount=tea_part.lines_total, status=Refund.Status.FAILED)
    written = rows()
    assert len(written) == 4  # three sales, one refund that succeeded

    SaleEntry.objects.all().delete()
    backfill(apps, None)
    assert rows() == written
    backfill(apps, None)  # a second run adds nothing
    assert rows() == written

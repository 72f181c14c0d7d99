"""Fill the ledger from what happened before it existed: a sale for every shop order's first move to
paid, a refund row for every refund that succeeded (the definitions the sales facts and settlement used)."""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone


def backfill(apps, schema_editor):
    SaleEntry = apps.get_model("ledger", "SaleEntry")
    ShopOrderEvent = apps.get_model("order", "ShopOrderEvent")
    Refund = apps.get_model("payments", "Refund")
    entered = set(SaleEntry.objects.filter(kind="sale").values_list("shop_order_id", flat=True))
    batch = []
    for event in (
        ShopOrderEvent.objects.filter(to_status="paid")
        .select_related("shop_order")
        .order_by("created_at", "pk")
        .iterator(chunk_size=2000)
    ):
        part = event.shop_order
        if part.pk in entered:
            continue
        entered.add(part.pk)
        batch.append(
            SaleEntry(
                kind="sale",
                shop_id=part.shop_id,
                shop_order_id=part.pk,
                at=event.created_at,
                day=timezone.localdate(event.created_at),
                goods=part.lines_total,
                shipping=part.shipping_charge,
                amount=part.lines_total + part.shipping_charge,
            )
        )
        if len(batch) >= 2000:
            SaleEntry.objects.bulk_create(batch)
            batch = []
    for refund in (
        Refund.objects.filter(status="succeeded", ledger_entry__isnull=True)
        .select_related("shop_order")
        .iterator(chunk_size=2000)
    ):
        batch.append(
            SaleEntry(
                kind="refund",
                shop_id=refund.shop_order.shop_id,
                shop_order_id=refund.shop_order_id,
                refund_id=refund.pk,
                at=refund.created_at,
                day=timezone.localdate(refund.created_at),
                goods=Decimal("0"),
                shipping=Decimal("0"),
                amount=-refund.amount,
            )
        )
        if len(batch) >= 2000:
            SaleEntry.objects.bulk_create(batch)
            batch = []
    SaleEntry.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_sales_ledger"),
        ("shops", "0009_moved_models"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

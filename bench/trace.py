"""One traced parcel in the benchmark's catalogue, for the storefront benchmark's trace page: a plot with
120 days of daily readings, a harvest batch, a paid order drawn from it (placed by the checkout service,
paid by the one transition function), and three legs with cold-chain readings. Made once per benchmark
database (found again by its buyer's e-mail)."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model

from logistics.models import Consignment, Leg, LegTemperatureReading, LogisticsPartner
from marketplace.checkout.services import DeliveryAddress, checkout_place
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import order_paid
from shops.harvest.models import ParcelTrace
from shops.harvest.services import NewBatch, batch_draws_settle, harvest_batch_record, parcel_traces_ensure
from shops.orchard.metrics import BY_CODE
from shops.orchard.models import DailyRollup, Plot

Basket = get_model("basket", "Basket")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")

BUYER = "bench-trace@example.cn"
SEASON_DAYS = 120
READINGS = 96  # a reading every 15 minutes over a day's carriage


def trace_ensure() -> str:
    """The benchmark parcel's trace code (made on first use)."""
    existing = ParcelTrace.objects.filter(shop_order__order__guest_email=BUYER).first()
    if existing is not None:
        return existing.code
    product = Product.objects.storefront().filter(stockrecords__num_in_stock__gt=5).order_by("pk").first()
    shop = product.shop
    if not product.net_weight_g:
        Product.objects.filter(pk=product.pk).update(net_weight_g=2500)
        product.refresh_from_db()
    today = timezone.localdate()
    plot, _created = Plot.objects.get_or_create(
        shop=shop, name="基准地块", defaults={"name_en": "Bench plot"}
    )
    DailyRollup.objects.bulk_create(
        [
            DailyRollup(
                plot=plot,
                metric=BY_CODE[code].number,
                day=today - datetime.timedelta(days=n),
                value_min=low + n % 5,
                value_max=high - n % 3,
                value_sum=(low + high) / 2 * 24,
                samples=24,
            )
            for code, low, high in (("air_temp_c", 12.0, 31.0), ("soil_moisture_pct", 18.0, 42.0))
            for n in range(SEASON_DAYS)
        ],
        ignore_conflicts=True,
    )
    harvest_batch_record(
        shop_id=shop.pk,
        new=NewBatch(
            products=(product,),
            plot=plot,
            picked_on=today - datetime.timedelta(days=1),
            quantity_kg=Decimal("500"),
            grade="premium",
            brix=Decimal("13.6"),
        ),
    )
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(product, 2)
    places = [p for p in (shop.province, shop.city, shop.county) if p is not None]
    names = [p.name for p in places] + [places[-1].name] * (3 - len(places))
    address = DeliveryAddress("基准买家", "+8613800138000", names[0], names[1], names[2], "1 号")
    order = checkout_place(basket=basket, user=None, email=BUYER, address=address)
    with transaction.atomic():
        order_paid(order_id=order.pk, reason="benchmark")
    shop_order = ShopOrder.objects.get(order=order)
    batch_draws_settle(shop_id=shop.pk)
    _legs(shop_order)
    return parcel_traces_ensure(shop_order_ids=[shop_order.pk])[shop_order.pk]


def _legs(shop_order: ShopOrder) -> None:
    consignment, _created = Consignment.objects.get_or_create(
        shop_order=shop_order,
        defaults={
            "status": Consignment.Status.ROUTED,
            "planned_for": timezone.localdate(),
            "needs_cold_chain": True,
        },
    )
    if consignment.legs.exists():
        return
    kinds = (
        (Leg.Kind.FIRST_MILE, LogisticsPartner.Kind.SERVICE_POINT, "基准服务站"),
        (Leg.Kind.HUB, LogisticsPartner.Kind.HUB, "基准县仓"),
        (Leg.Kind.CARRIER, LogisticsPartner.Kind.COLD_CHAIN, "基准冷链"),
    )
    start = timezone.now() - datetime.timedelta(hours=30)
    for sequence, (leg_kind, partner_kind, name) in enumerate(kinds, start=1):
        partner, _made = LogisticsPartner.objects.get_or_create(
            code=f"bench-{partner_kind}", defaults={"name": name, "kind": partner_kind, "cold_chain": True}
        )
        leg = Leg.objects.create(
            consignment=consignment,
            sequence=sequence,
            kind=leg_kind,
            partner=partner,
            day=timezone.localdate(),
        )
        LegTemperatureReading.objects.bulk_create(
            LegTemperatureReading(
                leg=leg,
                measured_at=start + datetime.timedelta(minutes=15 * i),
                celsius=Decimal("4.0") + Decimal(i % 7) / 2,
                source=LegTemperatureReading.Source.API,
            )
            for i in range(READINGS)
        )

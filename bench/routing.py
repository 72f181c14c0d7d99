"""The routing benchmark (`make bench-routing`): route N paid shop orders in-process with
``consignment_route`` over 50 logistics partners and 3,000 villages, and report orders per second, the time
per order of the first and the last 10 % of the orders (their ratio: flat is 1.0) and the queries per order.

    .venv/bin/python bench/routing.py                          # 10,000 orders, 50 partners
    .venv/bin/python bench/routing.py --orders 50000 --partners 200
    .venv/bin/python bench/routing.py --database-url postgres://postgres@127.0.0.1:5432/marketplace_bench_routing

The world (China's provinces, cities and counties from the checkout's divisions, 3,000 generated villages
under 150 of the counties, the partners, 300 shops with two products each, and the paid shop orders) lives
in its own database: var/bench/routing-<N>-orders-<P>-partners/db.sqlite3, or the PostgreSQL database
named (its name must start with ``marketplace_bench``: it is dropped and made again when regenerated). It is
reused by the next run of the same size; each run first forgets the previous run's consignments, legs and
day loads. The demo database is never touched.

One order is placed through the real checkout and paid; the others are copies of its rows (order, address,
lines, shop order) with another shop, products and destination, written with ``bulk_create`` — and checked
to look the same to routing as the checkout's own order.
"""

import argparse
import cProfile
import datetime
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
SEED = 20261122
VILLAGE_COUNTIES = 150
TOWNS_PER_COUNTY = 4
VILLAGES_PER_TOWN = 5  # 150 × 4 × 5 = 3,000 villages
SHOPS = 300
BATCH = 2000
FAR_WEST = {"540000", "620000", "630000", "640000", "650000"}  # Tibet, Gansu, Qinghai, Ningxia, Xinjiang
ROOMY = 1_000_000  # parcels a day: no partner fills up in the benchmark


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the world even if it exists")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database named marketplace_bench* (default: SQLite under var/bench/)",
    )
    parser.add_argument("--batch", type=int, default=500, help="shop orders per routing batch (transaction)")
    parser.add_argument("--sample-every", type=int, default=5, help="count the queries of every Nth batch")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cumulative",
        choices=["cumulative", "tottime"],
        help="cProfile the routing and list the top 30 functions (sorted by cumulative time, or tottime)",
    )
    return parser.parse_args(argv)


def environment(args) -> dict:
    var_dir = (REPO / "var" / "bench" / f"routing-{args.orders}-orders-{args.partners}-partners").resolve()
    url = args.database_url or f"sqlite:///{var_dir / 'db.sqlite3'}"
    if args.database_url:
        parsed = urlparse(args.database_url)
        if parsed.scheme not in ("postgres", "postgresql") or not parsed.path.lstrip("/").startswith(
            "marketplace_bench"
        ):
            raise SystemExit("--database-url must name a PostgreSQL database called marketplace_bench*")
    return {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(var_dir / "media"),
        "CELERY_BROKER_URL": "",  # tasks (a needs-routing alert) run in-process
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }


# --- the world ----------------------------------------------------------------------------------


def _fresh_database(log) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    database = settings.DATABASES["default"]
    connection.close()
    if connection.vendor == "sqlite":
        path = Path(database["NAME"])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        name = database["NAME"]
        with psycopg.connect(
            host=database.get("HOST") or None,
            port=database.get("PORT") or None,
            user=database.get("USER") or None,
            password=database.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    log(f"migrating a fresh database ({database['NAME']})")
    call_command("migrate", verbosity=0, interactive=False)


def world_size() -> tuple[int, int, int] | None:
    """(paid shop orders, logistics partners, villages) of the existing database, None if it has none."""
    from logistics.models import LogisticsPartner
    from marketplace.order.models import ShopOrder
    from marketplace.places.models import Region

    try:
        return (
            ShopOrder.objects.count(),
            LogisticsPartner.objects.count(),
            Region.objects.filter(level=Region.Level.VILLAGE).count(),
        )
    except Exception:  # no database yet, or a half-built one: rebuild it
        return None


def _villages(rng: random.Random) -> tuple[list, list, list]:
    """3,000 villages under 150 of the counties; returns (counties with villages, their towns, villages)."""
    from marketplace.places.models import Region

    counties = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
    chosen = sorted(rng.sample(counties, VILLAGE_COUNTIES), key=lambda r: r.code)
    towns = Region.objects.bulk_create(
        [
            Region(name=f"{county.name}第{t + 1}镇", level=Region.Level.TOWN, parent=county)
            for county in chosen
            for t in range(TOWNS_PER_COUNTY)
        ],
        batch_size=500,
    )
    villages = Region.objects.bulk_create(
        [
            Region(name=f"{town.name}{v + 1}村", level=Region.Level.VILLAGE, parent=town)
            for town in towns
            for v in range(VILLAGES_PER_TOWN)
        ],
        batch_size=500,
    )
    return chosen, towns, villages


def _partners(count: int, *, counties: list, towns: list) -> None:
    """Service points (60 %) each serving a share of the towns, hubs (24 %) two per county, and carriers:
    express over every province, cold chain each over three provinces in four, each missing another quarter
    (so any two provinces share at least two of the first four)."""
    from logistics.models import LogisticsPartner, PriceRule, ServiceArea
    from marketplace.places.models import Region

    provinces = list(Region.objects.filter(level=Region.Level.PROVINCE).order_by("code"))
    service_points = max(1, round(count * 0.6))
    hubs = max(2, round(count * 0.24))
    carriers = max(2, count - service_points - hubs)
    areas: list[tuple[LogisticsPartner, list]] = []
    prices: list[PriceRule] = []

    def partner(code: str, kind: str, cold_chain: bool, regions: list, first_kg: str, days: int):
        made = LogisticsPartner.objects.create(
            code=code, name=code, kind=kind, cold_chain=cold_chain, daily_capacity=ROOMY
        )
        areas.append((made, regions))
        prices.append(
            PriceRule(partner=made, first_kg=Decimal(first_kg), extra_kg=Decimal("1"), promised_days=days)
        )
        return made

    for i in range(service_points):
        partner(f"sp-{i:03d}", "service_point", False, towns[i::service_points], "1", 0)
    for j in range(hubs):
        served = counties[j::hubs] + counties[(j + 1) % hubs :: hubs]
        partner(f"hub-{j:03d}", "hub", True, served, str(2 + j % 3), 1)
    for k in range(carriers):
        if k % 2 == 0:
            made = partner(f"express-{k:03d}", "express", False, provinces, str(8 + k % 5), 3)
        else:
            served = [p for n, p in enumerate(provinces) if (n + k // 2) % 4 != 0]
            made = partner(f"coldchain-{k:03d}", "cold_chain", True, served, str(15 + k % 7), 2)
        # Dearer and slower to the far west: a deeper price zone, as the demo's carriers have.
        for province in (p for p in provinces if p.code in FAR_WEST):
            prices.append(
                PriceRule(
                    partner=made,
                    zone=province,
                    first_kg=Decimal("20"),
                    extra_kg=Decimal("8"),
                    promised_days=5,
                )
            )
    ServiceArea.objects.bulk_create(
        [ServiceArea(partner=made, region=region) for made, regions in areas for region in regions],
        batch_size=1000,
    )
    PriceRule.objects.bulk_create(prices, batch_size=1000)


def _shops(rng: random.Random, villages: list) -> list[tuple]:
    """300 approved shops in random villages, each with a perishable and a dry product; returns
    (shop, [(product, stockrecord), …]) per shop."""
    from oscar.core.loading import get_model

    Partner = get_model("partner", "Partner")
    Product = get_model("catalogue", "Product")
    ProductClass = get_model("catalogue", "ProductClass")
    StockRecord = get_model("partner", "StockRecord")

    product_class = ProductClass.objects.create(name="农产品", slug="produce", requires_shipping=True)
    shops = []
    for i in range(SHOPS):
        village = rng.choice(villages)
        town = village.parent
        county = town.parent
        city = county.parent
        shops.append(
            Partner(
                name=f"{village.name}农家{i}",
                code=f"bench-route-shop-{i:03d}",
                status=Partner.Status.APPROVED,
                province=city.parent,
                city=city,
                county=county,
                town=town,
                village=village,
                delivers_to_hub=i % 10 == 0,  # one shop in ten takes its parcels to the hub itself
            )
        )
    shops = Partner.objects.bulk_create(shops)
    products = Product.objects.bulk_create(
        [
            Product(
                structure=Product.STANDALONE,
                is_public=True,
                upc=f"R{i:04d}{p}",
                title=title,
                slug=f"bench-route-{i}-{p}",
                product_class=product_class,
                shop=shop,
                net_weight_g=weight,
                perishable=perishable,
                storage="chilled" if perishable else "ambient",
            )
            for i, shop in enumerate(shops)
            for p, (title, weight, perishable) in enumerate(
                [("水蜜桃 6只装", 2500, True), ("笋干 500克", 500, False)]
            )
        ]
    )
    records = StockRecord.objects.bulk_create(
        [
            StockRecord(
                product=product,
                partner=product.shop,
                partner_sku=product.upc,
                price=Decimal("68.00"),
                price_currency="CNY",
                num_in_stock=1_000_000,
            )
            for product in products
        ]
    )
    by_shop: dict[int, list] = {}
    for product, record in zip(products, records, strict=True):
        by_shop.setdefault(product.shop_id, []).append((product, record))
    return [(shop, by_shop[shop.pk]) for shop in shops]


def _address_of(county) -> dict:
    city = county.parent
    return {"state": city.parent.name, "line4": city.name, "line2": county.name}


def _template_order(shops: list[tuple], county):
    """One order placed through the real checkout and paid: the rows every other order copies."""
    from oscar.apps.partner.strategy import Default
    from oscar.core.loading import get_model

    from marketplace.checkout.services import DeliveryAddress, checkout_place
    from marketplace.order.models import ShopOrder
    from marketplace.order.shop_orders import shop_order_transition

    Basket = get_model("basket", "Basket")
    shop, products = shops[0]
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(products[0][0], 2)
    fields = _address_of(county)
    address = DeliveryAddress(
        "王小明", "+8613800138000", fields["state"], fields["line4"], fields["line2"], "1 号"
    )
    order = checkout_place(basket=basket, user=None, email="buyer@example.cn", address=address)
    shop_order = order.shop_orders.get()
    shop_order_transition(shop_order_id=shop_order.pk, to_status=ShopOrder.Status.PAID, reason="bench")
    return ShopOrder.objects.select_related("order__shipping_address").get(pk=shop_order.pk)


def _copy(row, **changes):
    """An unsaved copy of a model row with some fields changed (what ``bulk_create`` then writes)."""
    fields = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if not f.primary_key}
    return type(row)(**{**fields, **changes})


def _copies(*, template, plans: list[tuple], counties_by_pk: dict, start: int) -> list[int]:
    """Copies of the template's rows, one order per plan (shop, [(product, record, quantity)], county id);
    returns the new shop orders' ids."""
    from django.db import transaction
    from django.utils import timezone

    from marketplace.order.models import ShopOrder

    order = template.order
    line = order.lines.get()
    now = timezone.now()
    addresses = []
    for _shop, _items, county_pk in plans:
        address = _copy(order.shipping_address, **_address_of(counties_by_pk[county_pk]))
        address._update_search_text()  # what its save() does; bulk_create does not call save()
        addresses.append(address)
    with transaction.atomic():
        addresses = type(order.shipping_address).objects.bulk_create(addresses)
        totals = [sum((r.price * q for _p, r, q in items), Decimal("0")) for _shop, items, _c in plans]
        orders = type(order).objects.bulk_create(
            [
                _copy(
                    order,
                    number=f"B{n:09d}",
                    basket_id=None,
                    shipping_address_id=address.pk,
                    date_placed=now,
                    total_incl_tax=total + order.shipping_incl_tax,
                    total_excl_tax=total + order.shipping_excl_tax,
                )
                for n, address, total in zip(range(start, start + len(plans)), addresses, totals, strict=True)
            ]
        )
        lines, shop_orders = [], []
        for (shop, items, _county), made, total in zip(plans, orders, totals, strict=True):
            for product, record, quantity in items:
                price = record.price * quantity
                lines.append(
                    _copy(
                        line,
                        order_id=made.pk,
                        partner_id=shop.pk,
                        partner_name=shop.name,
                        stockrecord_id=record.pk,
                        partner_sku=record.partner_sku,
                        product_id=product.pk,
                        title=product.title,
                        upc=product.upc,
                        quantity=quantity,
                        num_allocated=quantity,
                        unit_price_incl_tax=record.price,
                        unit_price_excl_tax=record.price,
                        line_price_incl_tax=price,
                        line_price_excl_tax=price,
                        line_price_before_discounts_incl_tax=price,
                        line_price_before_discounts_excl_tax=price,
                    )
                )
            shop_orders.append(
                _copy(
                    template,
                    order_id=made.pk,
                    shop_id=shop.pk,
                    number=f"{made.number}-01",
                    lines_total=total,
                    needs_cold_chain=any(product.perishable for product, _r, _q in items),
                )
            )
        type(line).objects.bulk_create(lines, batch_size=500)
        return [s.pk for s in ShopOrder.objects.bulk_create(shop_orders, batch_size=500)]


def world_generate(*, orders: int, partners: int, log=print) -> None:
    from logistics.routing import shipment_of
    from marketplace.order.models import ShopOrder
    from marketplace.places.divisions import divisions_load
    from marketplace.places.models import Region

    started = time.monotonic()
    _fresh_database(log)
    rng = random.Random(SEED)
    regions = divisions_load()
    counties, towns, villages = _villages(rng)
    _partners(partners, counties=counties, towns=towns)
    shops = _shops(rng, villages)
    log(
        f"{regions:,} provinces, cities and counties; {len(villages):,} villages in {len(counties)} "
        f"counties; {partners} partners; {len(shops)} shops ({time.monotonic() - started:.0f} s)"
    )
    all_counties = list(
        Region.objects.filter(level=Region.Level.COUNTY).select_related("parent__parent").order_by("code")
    )
    counties_by_pk = {county.pk: county for county in all_counties}
    template = _template_order(shops, all_counties[0])

    # The first copy is the template's twin: it must look the same to routing as the checkout's order.
    shop, products = shops[0]
    twin = _copies(
        template=template,
        plans=[(shop, [(*products[0], 2)], all_counties[0].pk)],
        counties_by_pk=counties_by_pk,
        start=1,
    )[0]
    checkout_made = replace(shipment_of(template), shop_order_id=0)
    copied = replace(shipment_of(ShopOrder.objects.get(pk=twin)), shop_order_id=0)
    if checkout_made != copied:
        raise RuntimeError(
            f"a copied order differs from the checkout's to routing:\n{checkout_made}\n{copied}"
        )

    made = 2
    while made < orders:
        count = min(BATCH, orders - made)
        plans = []
        for _ in range(count):
            shop, products = rng.choice(shops)
            items = [
                (product, record, rng.randint(1, 3))
                for product, record in rng.sample(products, rng.randint(1, 2))
            ]
            plans.append((shop, items, rng.choice(all_counties).pk))
        _copies(template=template, plans=plans, counties_by_pk=counties_by_pk, start=made)
        made += count
        if made % 10_000 == 0:
            log(f"  {made:,} paid shop orders ({time.monotonic() - started:.0f} s)")
    log(f"{orders:,} paid shop orders; world built in {time.monotonic() - started:.0f} s")


def _migrate_if_behind() -> None:
    """Bring a world made before a migration up to date; only then run ``migrate`` (its post-migrate work
    leaves the process with many more objects, which Python's garbage collector then walks during the
    run: ~5 % more CPU per order on SQLite)."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0, interactive=False)


def routing_forget() -> None:
    """Forget a previous run: consignments, their legs and events, and the day loads."""
    from django.db import connection, transaction

    from logistics.models import Consignment, ConsignmentEvent, Leg, LegEvent, PartnerDayLoad, TrackingEvent

    models = (TrackingEvent, LegEvent, Leg, ConsignmentEvent, Consignment, PartnerDayLoad)
    with transaction.atomic(), connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
    if connection.vendor == "postgresql":
        # The previous run's rows are dead tuples until autovacuum comes, and the planner's statistics
        # describe them: without this a run's reads (the existing consignments) change plan from run to
        # run. Every run starts from the tables as autovacuum leaves them.
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- the measurement ----------------------------------------------------------------------------


def _ms(values) -> float:
    return statistics.fmean(values) * 1000


def route_all(*, batch: int, sample_every: int, profile: str | None) -> dict:
    """Route every paid shop order in primary-key order, ``batch`` at a time through
    ``consignments_route_batch`` (each batch one transaction), in-process. Each batch's wall-clock and CPU
    time are kept; every ``sample_every``-th batch is routed inside CaptureQueriesContext instead and only
    counted for its queries (and left out of the timings: capturing formats every statement's parameters)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from logistics.routing import consignments_route_batch
    from logistics.routing_index import routing_index, routing_index_invalidate
    from marketplace.order.models import ShopOrder

    ids = list(
        ShopOrder.objects.filter(status=ShopOrder.Status.PAID).order_by("pk").values_list("pk", flat=True)
    )
    routing_index_invalidate()  # generating the world built one: time a build from nothing
    build_started = time.perf_counter()
    routing_index()  # what a worker has built before its first batch; timed apart
    index_build_s = time.perf_counter() - build_started
    timed: list[tuple[int, int, float, float]] = []  # (position, orders, wall seconds, CPU seconds)
    sampled: list[tuple[int, int, int, float, float]] = []  # (position, orders, queries, s in SQL, s in all)
    outcomes: Counter[str] = Counter()
    statements: Counter[str] = Counter()  # seconds of the sampled batches by statement's beginning
    profiler = cProfile.Profile() if profile else None
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for number, first in enumerate(range(0, len(ids), batch)):
        chunk = ids[first : first + batch]
        if number % sample_every == sample_every // 2:
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = consignments_route_batch(shop_order_ids=chunk)
                elapsed = time.perf_counter() - started
            sql = sum(float(q["time"]) for q in queries.captured_queries)
            sampled.append((first, len(chunk), len(queries), sql, elapsed))
            for q in queries.captured_queries:
                statements[" ".join(q["sql"].split()[:6])[:70]] += float(q["time"])
        else:
            started, cpu = time.perf_counter(), time.process_time()
            result = consignments_route_batch(shop_order_ids=chunk)
            timed.append((first, len(chunk), time.perf_counter() - started, time.process_time() - cpu))
        outcomes.update(str(c.status) for c in result.consignments.values())
        outcomes.update(skipped=len(result.skipped))
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started

    def per_order_ms(rows, column: int) -> float:
        orders = sum(r[1] for r in rows)
        return sum(r[column] for r in rows) / orders * 1000 if orders else float("nan")

    tenth = len(ids) // 10
    deciles = [[t for t in timed if p * tenth <= t[0] < (p + 1) * tenth] for p in range(10)]
    timed_orders = sum(t[1] for t in timed)
    timed_wall = sum(t[2] for t in timed)
    result = {
        "orders": len(ids),
        "batch": batch,
        "outcomes": {k: v for k, v in outcomes.items() if v},
        "index_build_s": index_build_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "orders_per_s": len(ids) / wall,
        "orders_per_s_timed_batches": timed_orders / timed_wall if timed_wall else float("nan"),
        "wall_ms_per_order": per_order_ms(timed, 2),
        "cpu_ms_per_order": per_order_ms(timed, 3),
        "deciles_cpu_ms": [round(per_order_ms(decile, 3), 3) for decile in deciles],
        "queries_per_batch": [q for _p, _n, q, _s, _a in sampled],
        "orders_per_sampled_batch": [n for _p, n, _q, _s, _a in sampled],
        "sql_share": sum(s for *_r, s, _a in sampled) / sum(a for *_r, a in sampled) if sampled else 0.0,
        "sql_ms_per_sampled_batch_by_statement": {
            sql: round(seconds * 1000 / len(sampled), 1) for sql, seconds in statements.most_common(6)
        },
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(profile).print_stats(30)
        result["profile"] = out.getvalue()
    return result


def routing_verify(*, orders: int) -> dict:
    """Fail loudly unless every paid shop order has exactly one consignment with its decision recorded, a
    routed one has a leg per stage (two when the shop takes its parcels to the hub) and one that needs
    routing has its reason and none, no partner is booked past its capacity on any day, and every slot
    booked is a leg."""
    from django.db.models import Count, F

    from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad
    from logistics.routing import decision_reasons
    from marketplace.order.models import ShopOrder

    problems = []
    paid = ShopOrder.objects.filter(status=ShopOrder.Status.PAID).count()
    consignments = Consignment.objects.count()
    distinct = Consignment.objects.values("shop_order_id").distinct().count()
    if not (paid == consignments == distinct == orders):
        problems.append(
            f"{orders} orders, {paid} paid, {consignments} consignments for {distinct} shop orders"
        )
    # Read in Python: the record is JSON text on PostgreSQL (no jsonb equality).
    unrecorded = sum(not d for d in Consignment.objects.values_list("decisions", flat=True).iterator())
    if unrecorded:
        problems.append(f"{unrecorded} consignments without a decision recorded")
    partners_by_kind = Counter(LogisticsPartner.objects.values_list("kind", flat=True))
    candidates_per_leg = {
        "first_mile": partners_by_kind["service_point"],
        "hub": partners_by_kind["hub"],
        "carrier": partners_by_kind["express"] + partners_by_kind["cold_chain"],
    }
    checked = 0
    for decisions in Consignment.objects.order_by("pk").values_list("decisions", flat=True)[
        :: max(orders // 200, 1)
    ]:
        for leg in decisions[-1]["legs"]:
            recorded = len(decision_reasons(leg))
            if recorded != candidates_per_leg[leg["kind"]]:
                problems.append(f"a {leg['kind']} leg recorded {recorded} candidates")
            if any(not c["excluded"] and c["score"] is None for c in leg["candidates"]):
                problems.append("a candidate neither excluded nor scored")
        checked += 1
    routed = Consignment.objects.filter(status=Consignment.Status.ROUTED).annotate(n=Count("legs"))
    bad_legs = (
        routed.exclude(n=3, shop_order__shop__delivers_to_hub=False)
        .exclude(n=2, shop_order__shop__delivers_to_hub=True)
        .count()
    )
    if bad_legs:
        problems.append(f"{bad_legs} routed consignments without a leg per stage")
    waiting = Consignment.objects.filter(status=Consignment.Status.NEEDS_ROUTING)
    if waiting.filter(reason="").exists() or Leg.objects.filter(consignment__in=waiting).exists():
        problems.append("a consignment that needs routing without its reason, or with legs")
    over = PartnerDayLoad.objects.filter(booked__gt=F("partner__daily_capacity")).count()
    if over:
        problems.append(f"{over} day loads over their partner's capacity")
    legs = Counter(Leg.objects.values_list("partner_id", "day"))
    loads = {(p, d): b for p, d, b in PartnerDayLoad.objects.values_list("partner_id", "day", "booked") if b}
    if dict(legs) != loads:
        problems.append("the day loads are not the legs booked")
    if problems:
        raise SystemExit("ROUTING IS WRONG:\n  " + "\n  ".join(problems))
    return {
        "consignments": consignments,
        "routed": routed.count(),
        "needs_routing": waiting.count(),
        "legs": sum(legs.values()),
        "decisions_checked": checked,
    }


def report(result: dict, args, vendor: str) -> str:
    r = result
    queries = r["queries_per_batch"]
    return "\n".join(
        [
            f"{r['orders']:,} paid shop orders, {args.partners} partners, 3,000 villages ({vendor}), "
            f"batches of {r['batch']}; outcomes {r['outcomes']}",
            f"routing index built in {r['index_build_s'] * 1000:.0f} ms (before the first batch)",
            f"routed in {r['wall_s']:.2f} s wall ({r['cpu_s']:.2f} s CPU in this process): "
            f"{r['orders_per_s']:,.0f} orders/s; "
            f"timed batches {r['orders_per_s_timed_batches']:,.0f} orders/s, "
            f"{r['wall_ms_per_order']:.3f} ms wall and {r['cpu_ms_per_order']:.3f} ms CPU per order",
            f"CPU ms per order by tenth of the run: {' '.join(f'{d:.3f}' for d in r['deciles_cpu_ms'])}",
            f"queries per batch (sampled batches of {r['orders_per_sampled_batch']} orders): {queries}; "
            f"{r['sql_share'] * 100:.0f} % of their time in SQL; ms per batch by statement: "
            + "; ".join(f"{ms} {sql}" for sql, ms in r["sql_ms_per_sampled_batch_by_statement"].items()),
        ]
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    env = environment(args)
    os.environ.update(env)
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.db import connection

    if args.regenerate or world_size() != (args.orders, args.partners, VILLAGE_COUNTIES * 20):
        world_generate(orders=args.orders, partners=args.partners)
    else:
        print(f"reusing the world in {connection.settings_dict['NAME']}")
        _migrate_if_behind()
    routing_forget()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    result = route_all(batch=args.batch, sample_every=args.sample_every, profile=args.profile)
    result["verified"] = routing_verify(orders=args.orders)
    print()
    print(report(result, args, connection.vendor))
    print(f"verified: {result['verified']}")
    print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    if args.profile:
        print(result.pop("profile"))
    result.update(
        {
            "partners": args.partners,
            "database": connection.vendor,
            "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
    )
    results = Path(env["VAR_DIR"]) / f"results-{connection.vendor}.json"
    results.write_text(json.dumps(result, indent=2))
    print(f"\nresults: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

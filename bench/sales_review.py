"""The sales review benchmark (`make bench-sales`): N order lines over S shops and two years on PostgreSQL,
the daily facts built by the product's own ``sales_facts_rebuild``, then the association's sales review
page for three months, a season, the last 365 days and the whole two years by shop (and the two years by
county), timed through Django's test client and as the selector alone, with its query count held to a
fixed budget and each period's p95 checked against 300 ms (PASS/FAIL); and the same on a database with
ten times fewer lines, as a ratio.

    .venv/bin/python bench/sales_review.py                          # 1,000,000 lines, 200 shops
    .venv/bin/python bench/sales_review.py --lines 50000 --shops 50 --no-baseline
    .venv/bin/python bench/sales_review.py --keep                   # keep the databases for the next run

Each size lives in its own PostgreSQL database, ``<name>_<lines>`` after the name in --database-url
(default marketplace_bench_sales: marketplace_bench_sales_1000000 and marketplace_bench_sales_100000),
made from scratch (dropped first) and dropped at the end unless --keep; a kept database of the same
size, shops, days and generator is reused. No other database is touched. Its name must contain "bench".

The shops, categories, products and buyers are written with the ORM; the orders (Oscar's order, lines,
payment; the shop orders with their status events; refunds, some itemised by line, some failed) with
set-based SQL (``INSERT … SELECT … generate_series``), foreign keys checked once afterwards. The facts are
then built by ``shops.sales.facts.sales_facts_rebuild`` and checked against a direct computation
over the order lines for the busiest month, to the cent, and the review of the two years and of the last
365 days (monthly roll-ups, edge days, buyer chains) against the ledger and the orders' buyers, repeat
buyers per shop and per county included.

Exits non-zero when a page does not answer 200, the facts disagree with the orders, or a page's query
count is not its budget; missing the 300 ms ceiling is printed (FAIL), not an error.
"""

import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
VAR_DIR = REPO / "var" / "bench" / "sales-review"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/marketplace_bench_sales"
GENERATOR = "sales-review-2"  # bump when the generated data changes shape: kept databases are rebuilt
SEED = 0.20261122
CEILING_MS = 300.0
# The sales review by shop, whatever the period (a month or two years), the size of the history or the
# number of shops: the selector's 15 (the page's choosers: shops, their regions, categories; a
# transaction of its own, BEGIN and COMMIT, whose queries are planned without parallel workers, SET
# LOCAL; the period per shop and its repeat buyers; the previous period per shop; the totals and repeat
# buyers of the period, the previous one and the same period last year), plus through the client the
# session, the user, the user's and the group's permissions, and Oscar's unread-notifications count.
# (The series per day is the chart's, a request of its own.)
PAGE_QUERY_BUDGET = 20
SELECTOR_QUERY_BUDGET = 15

COUNTIES = [  # (province, city, county), zh / en / GB/T 2260 code
    (("浙江省", "Zhejiang", "330000"), ("丽水市", "Lishui", "331100"), ("遂昌县", "Suichang", "331123")),
    (("浙江省", "Zhejiang", "330000"), ("丽水市", "Lishui", "331100"), ("松阳县", "Songyang", "331124")),
    (("浙江省", "Zhejiang", "330000"), ("丽水市", "Lishui", "331100"), ("庆元县", "Qingyuan", "331126")),
    (("浙江省", "Zhejiang", "330000"), ("衢州市", "Quzhou", "330800"), ("常山县", "Changshan", "330822")),
    (("江苏省", "Jiangsu", "320000"), ("无锡市", "Wuxi", "320200"), ("惠山区", "Huishan", "320206")),
]
TOWNS_PER_COUNTY = 4
VILLAGES_PER_TOWN = 5  # 5 × 4 × 5 = 100 villages
PRODUCTS_PER_SHOP = 10
# Root categories with their children: (zh, en, slug, [(zh, en, slug, product kinds)]).
CATEGORIES = [
    ("鲜果", "Fresh fruit", "fresh-fruit", [("桃", "Peaches", "peaches"), ("柑橘", "Citrus", "citrus")]),
    ("茶叶", "Tea", "tea", [("绿茶", "Green tea", "green-tea"), ("红茶", "Black tea", "black-tea")]),
    (
        "山货干货",
        "Dried mountain goods",
        "dried-goods",
        [("笋干", "Bamboo shoots", "bamboo-shoots"), ("菌菇", "Mushrooms", "mushrooms")],
    ),
    ("蜂蜜", "Honey", "honey", []),
    (
        "粮油",
        "Grain and oil",
        "grain-oil",
        [("大米", "Rice", "rice"), ("菜籽油", "Rapeseed oil", "rapeseed-oil")],
    ),
    ("禽蛋", "Eggs", "eggs", []),
]
KINDS = {  # leaf slug → (product title, English title, price in yuan)
    "peaches": ("水蜜桃 6只装", "Honey peaches, 6", 68),
    "citrus": ("椪柑 5斤", "Ponkan, 2.5 kg", 45),
    "green-tea": ("龙谷丽人茶 250克", "Longgu Liren tea, 250 g", 168),
    "black-tea": ("红茶 200克", "Black tea, 200 g", 98),
    "bamboo-shoots": ("遂昌笋干 500克", "Dried bamboo shoots, 500 g", 58),
    "mushrooms": ("香菇 300克", "Shiitake, 300 g", 39),
    "honey": ("高山土蜂蜜 500克", "Mountain honey, 500 g", 88),
    "rice": ("高山大米 5斤", "Mountain rice, 2.5 kg", 36),
    "rapeseed-oil": ("土榨菜籽油 2.5升", "Rapeseed oil, 2.5 l", 79),
    "eggs": ("土鸡蛋 30枚", "Free-range eggs, 30", 42),
}
# How busy each month is (New Year goods, tea in spring, peaches in summer, Double 11 and year end) …
MONTH_WEIGHT = {
    1: 1.5,
    2: 1.1,
    3: 0.8,
    4: 1.0,
    5: 0.9,
    6: 1.2,
    7: 1.1,
    8: 0.75,
    9: 0.9,
    10: 1.0,
    11: 1.7,
    12: 1.3,
}
# … and the marketplace grows: the last day is 2.5 times the first.
GROWTH_FROM, GROWTH_TO = 0.6, 1.5
LINES_PER_ORDER = [(1, 0.30), (2, 0.25), (3, 0.20), (4, 0.15), (5, 0.10)]  # mean 2.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines (default 1,000,000)")
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--days", type=int, default=730, help="days of history, ending yesterday")
    parser.add_argument(
        "--baseline-lines", type=int, help="the comparison size (default: a tenth of --lines)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure --lines only")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page (default 50)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests before (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (and reuse kept ones)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild a kept database anyway")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"base name (default {DEFAULT_URL})")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child run: one size
    return parser.parse_args(argv)


def database_url(base: str, lines: int) -> str:
    parsed = urlparse(base)
    name = parsed.path.lstrip("/")
    if parsed.scheme not in ("postgres", "postgresql") or "bench" not in name:
        raise SystemExit("--database-url must name a PostgreSQL database whose name contains 'bench'")
    return urlunparse(parsed._replace(path=f"/{name}_{lines}"))


def _admin(url: str):
    """A connection to the server's ``postgres`` database, to create, drop and describe ours."""
    import psycopg

    parsed = urlparse(url)
    return psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
        autocommit=True,
    )


def _name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def database_drop(url: str) -> None:
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{_name(url)}" WITH (FORCE)')


def database_label(url: str) -> dict | None:
    """What a kept database holds (its COMMENT, written once it was complete), None if none or absent."""
    with _admin(url) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [_name(url)]
        ).fetchone()
    if not row or not row[0]:
        return None
    try:
        return json.loads(row[0])
    except ValueError:
        return None


def environment(url: str) -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",  # cached templates, no debug cursor: as in production
        "VAR_DIR": str(VAR_DIR),
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(VAR_DIR / "media"),
        "CELERY_BROKER_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }


# --- the world: regions, shops, categories, products, buyers (ORM) ------------------------------------


def _log(message: str) -> None:
    print(message, flush=True)


def world_build(*, shops: int, first_day: datetime.date, last_day: datetime.date, buyers: int) -> None:
    import random

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from oscar.core.loading import get_model

    from shops.association.access import association_group

    Region = get_model("places", "Region")
    Partner = get_model("partner", "Partner")
    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")
    ProductClass = get_model("catalogue", "ProductClass")
    ProductCategory = get_model("catalogue", "ProductCategory")
    StockRecord = get_model("partner", "StockRecord")
    rng = random.Random(SEED)
    warnings.filterwarnings("ignore", message="Using Category.add_")  # treebeard 7's deprecation notes

    with transaction.atomic():
        villages = []
        made: dict[str, object] = {}

        def region(zh, en, code, level, parent):
            key = code or f"{parent.pk}/{zh}"
            if key not in made:
                made[key] = Region.objects.create(name=zh, name_en=en, code=code, level=level, parent=parent)
            return made[key]

        for (p_zh, p_en, p_code), (c_zh, c_en, c_code), (k_zh, k_en, k_code) in COUNTIES:
            province = region(p_zh, p_en, p_code, Region.Level.PROVINCE, None)
            city = region(c_zh, c_en, c_code, Region.Level.CITY, province)
            county = region(k_zh, k_en, k_code, Region.Level.COUNTY, city)
            for t in range(1, TOWNS_PER_COUNTY + 1):
                town = region(f"{k_zh[:2]}{t}镇", f"{k_en} Town {t}", "", Region.Level.TOWN, county)
                for v in range(1, VILLAGES_PER_TOWN + 1):
                    village = region(
                        f"{town.name}{v}村", f"{town.name_en} Village {v}", "", Region.Level.VILLAGE, town
                    )
                    villages.append((province, city, county, town, village))

        leaves = []
        for zh, en, slug, children in CATEGORIES:
            root = Category.objects.add_root(create_kwargs={"name": zh, "name_en": en, "slug": slug})
            if not children:
                leaves.append((root, slug))
            for c_zh, c_en, c_slug in children:
                child = Category.objects.add_child(
                    root, create_kwargs={"name": c_zh, "name_en": c_en, "slug": c_slug}
                )
                leaves.append((child, c_slug))
        by_slug = {slug: category for category, slug in leaves}

        partners = []
        for i in range(shops):
            province, city, county, town, village = villages[i % len(villages)]
            partners.append(
                Partner(
                    name=f"{village.name}农家{i + 1}号",
                    name_en=f"{village.name_en} farm {i + 1}",
                    code=f"bench-sales-shop-{i + 1:03d}",
                    status=Partner.Status.APPROVED,
                    province=province,
                    city=city,
                    county=county,
                    town=town,
                    village=village,
                )
            )
        partners = Partner.objects.bulk_create(partners)
        product_class = ProductClass.objects.create(name="农产品", slug="produce", requires_shipping=True)
        span = (last_day - first_day).days
        products, categories = [], []
        slugs = list(KINDS)
        for i, shop in enumerate(partners):
            for p in range(PRODUCTS_PER_SHOP):
                slug = slugs[(i + p) % len(slugs)]
                title, title_en, _price = KINDS[slug]
                # One product in ten is sold in pre-sale until a day inside the history.
                presale = (
                    first_day + datetime.timedelta(days=rng.randrange(span)) if rng.random() < 0.1 else None
                )
                products.append(
                    Product(
                        structure=Product.STANDALONE,
                        title=f"{shop.name} {title}",
                        title_en=f"{title_en} from {shop.name_en}",
                        slug=f"bench-sales-{i + 1}-{p + 1}",
                        upc=f"S{i + 1:04d}-{p + 1:02d}",
                        product_class=product_class,
                        shop=shop,
                        is_public=True,
                        presale_ship_from=presale,
                    )
                )
                categories.append([by_slug[slug]])
                if rng.random() < 0.1:  # a few in two categories: the first by tree order is primary
                    categories[-1].append(rng.choice(list(by_slug.values())))
        products = Product.objects.bulk_create(products, batch_size=2000)
        ProductCategory.objects.bulk_create(
            [
                ProductCategory(product=product, category=category)
                for product, cats in zip(products, categories, strict=True)
                for category in dict.fromkeys(cats)
            ],
            batch_size=2000,
        )
        StockRecord.objects.bulk_create(
            [
                StockRecord(
                    product=product,
                    partner_id=product.shop_id,
                    partner_sku=product.upc,
                    price=_unit_price(n),
                    price_currency="CNY",
                    num_in_stock=1000,
                )
                for n, product in enumerate(products)
            ],
            batch_size=2000,
        )
        member = get_user_model().objects.create_user(
            "bench-association", "association@example.cn", "bench", first_name="协会", last_name="评审"
        )
        member.groups.add(association_group())
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                       is_staff, is_active, date_joined)
                SELECT '!', false, 'buyer' || g, '', '', 'buyer' || g || '@example.cn', false, true, now()
                FROM generate_series(1, %s) g
                """,
                [buyers],
            )


def _unit_price(n: int):
    from decimal import Decimal

    slugs = list(KINDS)
    base = KINDS[slugs[n % len(slugs)]][2]
    return Decimal(base + (n * 7) % 23) - Decimal("0.10")  # 35.90 … 189.90, a little different per shop


# --- the orders (set-based SQL) ------------------------------------------------------------------------


def _day_plan(*, orders: int, first_day: datetime.date, days: int) -> list[tuple[datetime.date, int]]:
    """Orders per day: seasonal, growing, a little busier at weekends; exactly ``orders`` in all."""
    weights = []
    for i in range(days):
        day = first_day + datetime.timedelta(days=i)
        growth = GROWTH_FROM + (GROWTH_TO - GROWTH_FROM) * i / max(days - 1, 1)
        weights.append(MONTH_WEIGHT[day.month] * growth * (1.15 if day.weekday() >= 5 else 1.0))
    total = sum(weights)
    exact = [orders * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    for i in sorted(range(days), key=lambda i: exact[i] - counts[i], reverse=True)[: orders - sum(counts)]:
        counts[i] += 1
    return [(first_day + datetime.timedelta(days=i), n) for i, n in enumerate(counts)]


LOAD_TABLES = [
    "order_order",
    "order_line",
    "shops_shoporder",
    "shops_shoporderevent",
    "payments_payment",
    "payments_refund",
    "payments_refundline",
    "ledger_saleentry",
]

# The status events of a shop order by its fate: (from, to, reason, time after the payment).
EVENT_PLAN = [
    # delivered: the whole way
    ("delivered", "", "pending_payment", "placed", "-3 minutes"),
    ("delivered", "pending_payment", "paid", "", "0"),
    ("delivered", "paid", "accepted", "", "2 hours"),
    ("delivered", "accepted", "packed", "", "20 hours"),
    ("delivered", "packed", "handed_over", "", "1 day"),
    ("delivered", "handed_over", "in_transit", "", "1 day 2 hours"),
    ("delivered", "in_transit", "delivered", "", "3 days"),
    # open: paid in the last days, not shipped yet
    ("open", "", "pending_payment", "placed", "-3 minutes"),
    ("open", "pending_payment", "paid", "", "0"),
    # cancelled after payment (and refunded in full)
    ("cancelled", "", "pending_payment", "placed", "-3 minutes"),
    ("cancelled", "pending_payment", "paid", "", "0"),
    ("cancelled", "paid", "cancelled", "买家取消", "1 day"),
    # never paid: not a sale
    ("unpaid", "", "pending_payment", "placed", "-3 minutes"),
    ("unpaid", "pending_payment", "cancelled", "超时未付款", "27 minutes"),
]


def orders_generate(
    *, lines: int, shops: int, buyers: int, guests: int, first_day: datetime.date, days: int
) -> dict:
    """Orders, lines, shop orders, their events, payments and refunds for exactly ``lines`` order lines,
    in one transaction with foreign-key triggers off (checked afterwards)."""
    from django.db import connection, transaction

    mean_lines = sum(n * p for n, p in LINES_PER_ORDER)
    planned = math.ceil(lines / mean_lines * 1.03)  # a little more, then cut to the exact line count
    plan = _day_plan(orders=planned, first_day=first_day, days=days)
    last_day = first_day + datetime.timedelta(days=days - 1)
    span_end = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time.min)
    lines_case = (
        "CASE "
        + " ".join(
            f"WHEN r_lines < {sum(p for _n, p in LINES_PER_ORDER[: i + 1]):.2f} THEN {n}"
            for i, (n, _p) in enumerate(LINES_PER_ORDER[:-1])
        )
        + f" ELSE {LINES_PER_ORDER[-1][0]} END"
    )
    steps = []

    def run(label: str, sql: str, params=None) -> None:
        started = time.monotonic()
        cursor.execute(sql, params)
        steps.append((label, cursor.rowcount, time.monotonic() - started))

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers: checked after
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SELECT setseed(%s)", [SEED])
        cursor.execute("SELECT min(id), max(id) FROM auth_user WHERE username LIKE %s", ["buyer%"])
        first_buyer, _last_buyer = cursor.fetchone()
        run(
            "plan",
            """
            CREATE TEMP TABLE bench_day (day date, orders int) ON COMMIT DROP;
            CREATE TEMP TABLE bench_shop ON COMMIT DROP AS
              SELECT row_number() OVER (ORDER BY id) - 1 AS idx, id, name FROM partner_partner;
            CREATE TEMP TABLE bench_product ON COMMIT DROP AS
              SELECT s.idx AS shop_idx, row_number() OVER (PARTITION BY p.shop_id ORDER BY p.id) - 1 AS idx,
                     p.id, p.title, p.upc, r.price
              FROM catalogue_product p JOIN bench_shop s ON s.id = p.shop_id
              JOIN partner_stockrecord r ON r.product_id = p.id;
            """,
        )
        cursor.executemany("INSERT INTO bench_day VALUES (%s, %s)", plan)
        run(
            "orders planned",
            f"""
            CREATE TEMP TABLE bench_order ON COMMIT DROP AS
            WITH raw AS (
              SELECT d.day, random() AS r_time, random() AS r_shape, random() AS r_shop, random() AS r_shop_b,
                     random() AS r_two, random() AS r_buyer, random() AS r_guest, random() AS r_lines,
                     random() AS r_fate, random() AS r_product, random() AS r_cut
              FROM bench_day d, generate_series(1, d.orders) g
            ), shaped AS (
              SELECT *, {lines_case} AS n_lines FROM raw
            )
            SELECT row_number() OVER (ORDER BY day, r_time, r_cut) AS id, day, n_lines, r_cut,
              -- 70 per cent between 08:00 and 22:00 local time, the rest at any hour (month ends too)
              ((day + CASE WHEN r_shape < 0.7 THEN interval '8 hours' + r_time * interval '14 hours'
                           ELSE r_time * interval '24 hours' END)::timestamp
                AT TIME ZONE 'Asia/Shanghai') AS paid_at,
              floor(%(shops)s * power(r_shop, 1.7))::int AS shop_a,
              CASE WHEN n_lines >= 2 AND r_two < 0.15 THEN floor(%(shops)s * r_shop_b)::int END AS shop_b,
              CASE WHEN r_guest < 0.15 THEN NULL
                   ELSE %(first_buyer)s + floor(%(buyers)s * power(r_buyer, 2.5))::int END AS user_id,
              CASE WHEN r_guest < 0.15
                   THEN 'guest' || floor(%(guests)s * power(r_buyer, 2))::int || '@example.cn'
                   ELSE '' END AS guest_email,
              CASE WHEN r_fate < 0.02 THEN 'unpaid' WHEN r_fate < 0.03 THEN 'cancelled'
                   WHEN day > %(last_day)s::date - 5 THEN 'open' ELSE 'delivered' END AS fate,
              floor({PRODUCTS_PER_SHOP} * power(r_product, 1.5))::int AS product_start
            FROM shaped
            """,  # noqa: S608  (constants of this module)
            {
                "shops": shops,
                "first_buyer": first_buyer,
                "buyers": buyers,
                "guests": guests,
                "last_day": last_day,
            },
        )
        # Exactly ``lines`` lines: drop orders in a random order beyond the count, shorten the last one.
        run(
            "orders cut to the line count",
            """
            WITH running AS (
              SELECT id, n_lines, sum(n_lines) OVER (ORDER BY r_cut, id) AS upto FROM bench_order
            ), cut AS (DELETE FROM bench_order o USING running r
                       WHERE r.id = o.id AND r.upto - r.n_lines >= %(lines)s RETURNING o.id)
            UPDATE bench_order o SET n_lines = o.n_lines - (r.upto - %(lines)s),
                   shop_b = CASE WHEN o.n_lines - (r.upto - %(lines)s) >= 2 THEN o.shop_b END
            FROM running r WHERE r.id = o.id AND r.upto > %(lines)s AND r.upto - r.n_lines < %(lines)s
            """,
            {"lines": lines},
        )
        run(
            "same shop twice",
            "UPDATE bench_order SET shop_b = CASE WHEN shop_a + 1 < %s THEN shop_a + 1 ELSE 0 END "
            "WHERE shop_b = shop_a",
            [shops],
        )
        run(
            "lines planned",
            f"""
            CREATE TEMP TABLE bench_line ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY o.id, k) AS id, o.id AS order_id, k,
                   s.id AS shop_id, s.name AS shop_name, p.id AS product_id, p.title, p.upc, p.price,
                   1 + floor(random() * random() * 3)::int AS quantity
            FROM bench_order o
            CROSS JOIN LATERAL generate_series(1, o.n_lines) k
            JOIN bench_shop s ON s.idx = CASE WHEN o.shop_b IS NOT NULL AND mod(k, 2) = 0 THEN o.shop_b
                                              ELSE o.shop_a END
            JOIN bench_product p ON p.shop_idx = s.idx
                                 AND p.idx = mod(o.product_start + 3 * k, {PRODUCTS_PER_SHOP})
            """,  # noqa: S608  (constants of this module)
        )
        run(
            "shop orders planned",
            """
            CREATE TEMP TABLE bench_shoporder ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY l.order_id, l.shop_id) AS id, l.order_id, l.shop_id,
                   row_number() OVER (PARTITION BY l.order_id ORDER BY l.shop_id) AS part,
                   sum(l.price * l.quantity) AS lines_total, min(l.id) AS first_line, random() AS r_refund,
                   random() AS r_when
            FROM bench_line l GROUP BY l.order_id, l.shop_id;
            ALTER TABLE bench_shoporder ADD COLUMN shipping numeric(12, 2);
            UPDATE bench_shoporder SET shipping = CASE WHEN lines_total >= 99 THEN 0 ELSE 10 END;
            CREATE INDEX ON bench_shoporder (order_id);
            ANALYZE bench_order; ANALYZE bench_line; ANALYZE bench_shoporder;
            """,
        )
        run(
            "order_order",
            """
            INSERT INTO order_order (id, number, currency, total_incl_tax, total_excl_tax, shipping_incl_tax,
                shipping_excl_tax, shipping_method, shipping_code, status, guest_email, date_placed, user_id,
                analytics_tracked)
            SELECT o.id, 'B' || lpad(o.id::text, 9, '0'), 'CNY', t.total, t.total, t.shipping, t.shipping,
                   '产地直发', 'shop-shipping',
                   CASE o.fate WHEN 'delivered' THEN 'delivered' WHEN 'open' THEN 'paid'
                               ELSE 'cancelled' END,
                   o.guest_email, o.paid_at - interval '3 minutes', o.user_id, true
            FROM bench_order o
            JOIN (SELECT order_id, sum(lines_total + shipping) AS total, sum(shipping) AS shipping
                  FROM bench_shoporder GROUP BY order_id) t ON t.order_id = o.id
            """,
        )
        run(
            "order_line",
            """
            INSERT INTO order_line (id, order_id, partner_id, partner_name, partner_sku,
                partner_line_reference, partner_line_notes, product_id, title, upc, quantity,
                unit_price_incl_tax, unit_price_excl_tax, line_price_incl_tax, line_price_excl_tax,
                line_price_before_discounts_incl_tax, line_price_before_discounts_excl_tax, status,
                allocation_cancelled, num_allocated)
            SELECT id, order_id, shop_id, shop_name, upc, '', '', product_id, title, upc, quantity, price,
                   price, price * quantity, price * quantity, price * quantity, price * quantity, '', false,
                   quantity
            FROM bench_line
            """,
        )
        run(
            "shops_shoporder",
            """
            INSERT INTO shops_shoporder (id, order_id, shop_id, number, status, lines_total, shipping_charge,
                currency, needs_cold_chain, created_at, ships_on, stock_held)
            SELECT so.id, so.order_id, so.shop_id, 'B' || lpad(so.order_id::text, 9, '0') || '-0' || so.part,
                   CASE o.fate WHEN 'delivered' THEN 'delivered' WHEN 'open' THEN 'paid' ELSE 'cancelled' END,
                   so.lines_total, so.shipping, 'CNY', false, o.paid_at - interval '3 minutes', o.day,
                   o.fate = 'open'
            FROM bench_shoporder so JOIN bench_order o ON o.id = so.order_id
            """,
        )
        run(
            "shops_shoporderevent",
            "CREATE TEMP TABLE bench_event_plan (fate text, from_status text, to_status text, reason text, "
            "after interval) ON COMMIT DROP",
        )
        cursor.executemany("INSERT INTO bench_event_plan VALUES (%s, %s, %s, %s, %s::interval)", EVENT_PLAN)
        run(
            "shops_shoporderevent",
            """
            INSERT INTO shops_shoporderevent (shop_order_id, from_status, to_status, reason, created_at)
            SELECT so.id, e.from_status, e.to_status, e.reason, o.paid_at + e.after
            FROM bench_shoporder so JOIN bench_order o ON o.id = so.order_id
            JOIN bench_event_plan e ON e.fate = o.fate
            ORDER BY o.paid_at + e.after, so.id
            """,
        )
        run(
            "payments_payment",
            """
            INSERT INTO payments_payment (id, order_id, intent_id, payment_method, client_secret, amount,
                currency, status, failure_message, failure_code, paid_at, created_at, duplicate_refund_id)
            SELECT o.id, o.id, 'pi_bench_' || o.id, 'card', '', oo.total_incl_tax, 'CNY', 'succeeded', '', '',
                   o.paid_at, o.paid_at - interval '2 minutes', ''
            FROM bench_order o JOIN order_order oo ON oo.id = o.id
            WHERE o.fate <> 'unpaid'
            """,
        )
        # Refunds: a full one for every shop order cancelled after payment; of the others, 4 % have one
        # line refunded (itemised), 1 % a ¥5 goodwill refund (not itemised), 0.3 % a line refund that
        # failed at Stripe (not counted). Made 2–16 days after the payment, within the history.
        run(
            "refunds planned",
            """
            CREATE TEMP TABLE bench_refund ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY so.id) AS id, so.id AS shop_order_id, so.order_id,
                   CASE WHEN o.fate = 'cancelled' THEN 'full'
                        WHEN so.r_refund < 0.04 THEN 'line'
                        WHEN so.r_refund < 0.05 THEN 'goodwill'
                        ELSE 'failed' END AS kind,
                   so.first_line, so.lines_total + so.shipping AS total,
                   LEAST(o.paid_at + CASE WHEN o.fate = 'cancelled' THEN interval '1 day'
                                          ELSE interval '2 days' + so.r_when * interval '14 days' END,
                         (%(span_end)s::timestamp AT TIME ZONE 'Asia/Shanghai') - interval '1 minute') AS at
            FROM bench_shoporder so JOIN bench_order o ON o.id = so.order_id
            WHERE o.fate = 'cancelled' OR (o.fate IN ('delivered', 'open') AND so.r_refund < 0.053)
            """,
            {"span_end": span_end},
        )
        run(
            "payments_refund",
            """
            INSERT INTO payments_refund (id, shop_order_id, payment_id, amount, reason, stripe_refund_id,
                status, created_at)
            SELECT r.id, r.shop_order_id, r.order_id,
                   CASE r.kind WHEN 'full' THEN r.total WHEN 'goodwill' THEN LEAST(5, r.total)
                               ELSE l.price END,
                   CASE r.kind WHEN 'full' THEN '订单取消' WHEN 'goodwill' THEN '补偿运输破损'
                               ELSE '部分商品退款' END,
                   CASE WHEN r.kind = 'failed' THEN '' ELSE 're_bench_' || r.id END,
                   CASE WHEN r.kind = 'failed' THEN 'failed' ELSE 'succeeded' END, r.at
            FROM bench_refund r JOIN bench_line l ON l.id = r.first_line
            """,
        )
        run(
            "payments_refundline",
            """
            INSERT INTO payments_refundline (refund_id, line_id, quantity, amount)
            SELECT r.id, l.id, 1, l.price
            FROM bench_refund r JOIN bench_line l ON l.id = r.first_line
            WHERE r.kind IN ('line', 'failed')
            """,
        )
        # The sales ledger, as the paid move and the refund's success write it (and as its backfill
        # migration does): a sale at the shop order's first move to paid, a refund row per refund that
        # succeeded, each on its Asia/Shanghai day.
        run(
            "ledger_saleentry",
            """
            INSERT INTO ledger_saleentry (kind, shop_id, shop_order_id, refund_id, at, day, goods, shipping,
                amount)
            SELECT 'sale', so.shop_id, so.id, NULL, e.at, (e.at AT TIME ZONE 'Asia/Shanghai')::date,
                   so.lines_total, so.shipping_charge, so.lines_total + so.shipping_charge
            FROM shops_shoporder so
            JOIN (SELECT shop_order_id, min(created_at) AS at FROM shops_shoporderevent
                  WHERE to_status = 'paid' GROUP BY shop_order_id) e ON e.shop_order_id = so.id
            UNION ALL
            SELECT 'refund', so.shop_id, so.id, r.id, r.created_at,
                   (r.created_at AT TIME ZONE 'Asia/Shanghai')::date, 0, 0, -r.amount
            FROM payments_refund r JOIN shops_shoporder so ON so.id = r.shop_order_id
            WHERE r.status = 'succeeded'
            ORDER BY 5
            """,
        )
        for table in LOAD_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"coalesce((SELECT max(id) FROM {table}), 1))"
            )
    return {"steps": steps, "planned_orders": planned}


def foreign_keys_check() -> int:
    """Every foreign key of the loaded tables points at a row (they were written with triggers off)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
            """,
            [LOAD_TABLES],
        )
        keys = cursor.fetchall()
        broken = []
        for table, column, target, target_column in keys:
            cursor.execute(
                f"SELECT count(*) FROM {table} x WHERE x.{column} IS NOT NULL AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {target} y WHERE y.{target_column} = x.{column})"
            )
            missing = cursor.fetchone()[0]
            if missing:
                broken.append(f"{table}.{column} → {target}: {missing} rows")
    if broken:
        raise SystemExit("generated rows break foreign keys:\n  " + "\n  ".join(broken))
    return len(keys)


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- checks and sizes ----------------------------------------------------------------------------------


def sizes() -> dict:
    from django.db import connection

    tables = {
        "order lines": "order_line",
        "orders": "order_order",
        "shop orders": "shops_shoporder",
        "shop order events": "shops_shoporderevent",
        "refunds": "payments_refund",
        "refund lines": "payments_refundline",
        "buyers (users)": "auth_user",
        "products": "catalogue_product",
        "shops": "partner_partner",
        "SalesDay": "sales_salesday",
        "ProductSalesDay": "sales_productsalesday",
        "CategorySalesDay": "sales_categorysalesday",
        "BuyerSalesDay": "sales_buyersalesday",
        "SalesMonth": "sales_salesmonth",
        "BuyerSalesMonth": "sales_buyersalesmonth",
        "ProductSalesMonth": "sales_productsalesmonth",
        "CategorySalesMonth": "sales_categorysalesmonth",
        "BuyerSalesChain": "sales_buyersaleschain",
        "BuyerSalesChainMonth": "sales_buyersaleschainmonth",
        "ledger (SaleEntry)": "ledger_saleentry",
    }
    result = {}
    with connection.cursor() as cursor:
        for label, table in tables.items():
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")  # noqa: S608
            rows, size = cursor.fetchone()
            result[label] = {"rows": rows, "mb": round(size / 2**20, 1)}
        cursor.execute(
            "SELECT count(*) FROM order_line l JOIN shops_shoporder so "
            "ON so.order_id = l.order_id AND so.shop_id = l.partner_id "
            "WHERE EXISTS (SELECT 1 FROM shops_shoporderevent e WHERE e.shop_order_id = so.id "
            "AND e.to_status = 'paid')"
        )
        result["order lines of paid shop orders"] = {"rows": cursor.fetchone()[0], "mb": None}
        cursor.execute("SELECT pg_database_size(current_database())")
        result["database"] = {"rows": None, "mb": round(cursor.fetchone()[0] / 2**20, 1)}
    return result


def facts_check(period) -> dict:
    """The month's sales, goods, shipping and refunds computed straight from the orders (one statement
    over the order lines, timed), against the facts summed over the month: they must agree to the cent."""
    from django.db import connection
    from django.db.models import Sum

    from marketplace.local_dates import day_bounds
    from shops.sales.models import SalesDay

    start, _ = day_bounds(period.start)
    _, end = day_bounds(period.end)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH sale AS (
              SELECT DISTINCT so.id, so.order_id, so.shop_id, so.shipping_charge
              FROM shops_shoporderevent e JOIN shops_shoporder so ON so.id = e.shop_order_id
              WHERE e.to_status = 'paid' AND e.created_at >= %(start)s AND e.created_at < %(end)s
            )
            SELECT (SELECT count(*) FROM sale), (SELECT sum(shipping_charge) FROM sale),
                   (SELECT sum(l.line_price_incl_tax) FROM order_line l
                    JOIN sale s ON s.order_id = l.order_id AND s.shop_id = l.partner_id),
                   (SELECT sum(l.quantity) FROM order_line l
                    JOIN sale s ON s.order_id = l.order_id AND s.shop_id = l.partner_id),
                   (SELECT sum(amount) FROM payments_refund
                    WHERE status = 'succeeded' AND created_at >= %(start)s AND created_at < %(end)s)
            """,
            {"start": start, "end": end},
        )
        sales, shipping, goods, units, refunds = cursor.fetchone()
    direct_ms = (time.perf_counter() - started) * 1000
    facts = SalesDay.objects.filter(day__gte=period.start, day__lte=period.end).aggregate(
        sales=Sum("sales"),
        units=Sum("units"),
        goods=Sum("goods"),
        shipping=Sum("shipping"),
        refunds=Sum("refunds"),
    )
    direct = {"sales": sales, "units": units, "goods": goods, "shipping": shipping, "refunds": refunds}
    return {
        "direct_ms": direct_ms,
        "direct": {k: str(v) for k, v in direct.items()},
        "facts": {k: str(v) for k, v in facts.items()},
        "agree": all(direct[k] == facts[k] for k in direct),
    }


def long_range_check(period) -> dict:
    """The period's sales, goods, shipping, refunds and repeat buyers (in all, per shop and per county)
    computed straight from the sales ledger and the orders' buyers (one statement each, timed), against
    the selector's figures by shop and by county, which read the monthly roll-ups and the edge days and
    the buyers' chains: they must be equal."""
    from django.db import connection

    from shops.sales.selectors import SalesFilters, sales_review

    buyer = "CASE WHEN o.user_id IS NOT NULL THEN 'u' || o.user_id ELSE 'g' || lower(trim(o.guest_email)) END"
    sales_of_period = (
        "FROM ledger_saleentry e JOIN shops_shoporder so ON so.id = e.shop_order_id "
        "JOIN order_order o ON o.id = so.order_id JOIN partner_partner p ON p.id = e.shop_id "
        "WHERE e.kind = 'sale' AND e.day >= %(start)s AND e.day <= %(end)s"
    )
    params = {"start": period.start, "end": period.end}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE kind = 'sale'), sum(goods), sum(shipping), "
            "-sum(amount) FILTER (WHERE kind = 'refund') FROM ledger_saleentry "
            "WHERE day >= %(start)s AND day <= %(end)s",
            params,
        )
        sales, goods, shipping, refunds = cursor.fetchone()
        cursor.execute(
            f"SELECT count(*) FROM (SELECT {buyer} {sales_of_period} GROUP BY 1 "  # noqa: S608
            "HAVING count(*) >= 2) repeat_buyers",
            params,
        )
        repeat = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT shop_id, count(*) FROM (SELECT e.shop_id, {buyer} {sales_of_period} "  # noqa: S608
            "GROUP BY 1, 2 HAVING count(*) >= 2) repeat_buyers GROUP BY shop_id",
            params,
        )
        repeat_by_shop = dict(cursor.fetchall())
        cursor.execute(
            f"SELECT county_id, count(*) FROM (SELECT p.county_id, {buyer} {sales_of_period} "  # noqa: S608
            "GROUP BY 1, 2 HAVING count(*) >= 2) repeat_buyers GROUP BY county_id",
            params,
        )
        repeat_by_county = dict(cursor.fetchall())
    direct_ms = (time.perf_counter() - started) * 1000
    review = sales_review(period=period, filters=SalesFilters(), dimension="shop")
    by_county = sales_review(period=period, filters=SalesFilters(), dimension="county", daily=False)
    county_repeat = {
        r.figures.key: r.figures.repeat_buyers for r in by_county.rows if r.figures.repeat_buyers
    }
    t = review.totals
    direct = {
        "sales": sales,
        "goods": goods,
        "shipping": shipping,
        "refunds": refunds,
        "repeat_buyers": repeat,
    }
    selector = {
        "sales": t.orders,
        "goods": t.goods,
        "shipping": t.shipping,
        "refunds": t.refunds,
        "repeat_buyers": t.repeat_buyers,
    }
    by_shop = {r.figures.key: r.figures.repeat_buyers for r in review.rows if r.figures.repeat_buyers}
    return {
        "period": period.label,
        "direct_ms": direct_ms,
        "direct": {k: str(v) for k, v in direct.items()},
        "selector": {k: str(v) for k, v in selector.items()},
        "agree": direct == selector and by_shop == repeat_by_shop and county_repeat == repeat_by_county,
        "shops_with_repeat_buyers": len(repeat_by_shop),
        "repeat_buyers_by_county": repeat_by_county,
    }


def months_to_measure(first_day: datetime.date, last_day: datetime.date) -> list[tuple[str, object, int]]:
    """(role, month, sales): the busiest, the quietest and the latest full month among those whose same
    month a year earlier is inside the history too (so the page reads three months of facts)."""
    from django.db.models import Sum
    from django.db.models.functions import TruncMonth

    from marketplace.periods import MONTH, period_of
    from shops.sales.models import SalesDay

    per_month = dict(
        SalesDay.objects.annotate(m=TruncMonth("day"))
        .values("m")
        .annotate(n=Sum("sales"))
        .values_list("m", "n")
    )
    full = []
    for month_start, sales in per_month.items():
        period = period_of(MONTH, month_start)
        if period.start >= first_day and period.end <= last_day:
            full.append((period, sales))
    with_last_year = [(p, n) for p, n in full if p.last_year().start >= first_day] or full
    if not with_last_year:
        raise SystemExit("no full month in the history: give --days 60 or more")
    busiest = max(with_last_year, key=lambda x: x[1])
    quietest = min(with_last_year, key=lambda x: x[1])
    latest = max(with_last_year, key=lambda x: x[0].start)
    return [("busiest", *busiest), ("quietest", *quietest), ("latest", *latest)]


def periods_to_measure(months, first_day: datetime.date, last_day: datetime.date) -> list[tuple]:
    """(role, period, sales, query, dimension): the three months by shop, then the busiest month's
    season by shop, the last 365 days by shop, and the whole two-year history (starting and ending
    mid-month) by shop and by county."""
    from django.db.models import Sum

    from marketplace.periods import SEASON, custom_period, period_of
    from shops.sales.models import SalesDay

    def sales_in(period) -> int:
        days = SalesDay.objects.filter(day__gte=period.start, day__lte=period.end)
        return days.aggregate(n=Sum("sales"))["n"] or 0

    def custom(period) -> dict:
        return {"period": "custom", "start": period.start.isoformat(), "end": period.end.isoformat()}

    chosen = [
        (role, period, sales, {"period": "month", "on": period.start.isoformat()}, "shop")
        for role, period, sales in months
    ]
    season = period_of(SEASON, months[0][1].start)
    year = custom_period(last_day - datetime.timedelta(days=364), last_day)
    two_years = custom_period(first_day, last_day)
    chosen += [
        ("season", season, sales_in(season), {"period": "season", "on": season.start.isoformat()}, "shop"),
        ("last 365 days", year, sales_in(year), custom(year), "shop"),
        ("two years", two_years, sales_in(two_years), custom(two_years), "shop"),
        ("two years", two_years, sales_in(two_years), custom(two_years), "county"),
    ]
    return chosen


# --- the measurement ---------------------------------------------------------------------------------


def _stats(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    nearest = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # p95 by nearest rank
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": nearest * 1000,
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


def page_measure(client, path: str, *, requests: int, warmup: int) -> dict:
    """``warmup`` untimed requests, ``requests`` timed ones, then one inside CaptureQueriesContext for its
    queries (only counted: capturing slows a request down)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}:\n{response.content[:2000]!r}")
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    slowest = sorted(queries.captured_queries, key=lambda q: float(q["time"]), reverse=True)[:3]
    return {
        **_stats(timings),
        "queries": len(queries),
        "sql_ms": sum(float(q["time"]) for q in queries.captured_queries) * 1000,
        "slowest": [{"ms": float(q["time"]) * 1000, "sql": q["sql"][:300]} for q in slowest],
        "bytes": len(response.content),
    }


def selector_measure(period, *, requests: int, warmup: int, dimension: str = "shop") -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shops.sales.selectors import SalesFilters, sales_review

    def once():  # what the page asks for (the series per day is the chart's)
        return sales_review(period=period, filters=SalesFilters(), dimension=dimension, daily=False)

    for _ in range(warmup):
        once()
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        review = once()
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        once()
    return {
        **_stats(timings),
        "queries": len(queries),
        "sql_ms": sum(float(q["time"]) for q in queries.captured_queries) * 1000,
        "rows": len(review.rows),
        "net": str(review.totals.net),
    }


def _long_range_log(whole: dict) -> bool:
    _log(
        f"the review of {whole['period']} (monthly roll-ups + edge days) vs the ledger and the orders' "
        f"buyers: {'equal' if whole['agree'] else 'DIFFERENT'} ({whole['direct']}; repeat buyers at "
        f"{whole['shops_with_repeat_buyers']} shops and in {len(whole['repeat_buyers_by_county'])} counties "
        f"equal too: {whole['repeat_buyers_by_county']}); the direct computation took "
        f"{whole['direct_ms']:.0f} ms"
    )
    if not whole["agree"]:
        _log(f"  review: {whole['selector']}")
    return whole["agree"]


def one_size(args) -> int:
    """One database: build (or reuse) it, build the facts, measure; results into VAR_DIR."""
    url = database_url(args.database_url, args.lines)
    env = environment(url)
    os.environ.update(env)
    (VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise wants it; nothing is served
    sys.path.insert(0, str(REPO))
    label_wanted = {
        "generator": GENERATOR,
        "lines": args.lines,
        "shops": args.shops,
        "days": args.days,
    }
    label = database_label(url)
    reuse = (
        args.keep
        and not args.regenerate
        and label is not None
        and {k: label.get(k) for k in label_wanted} == label_wanted
    )
    result: dict = {"lines": args.lines, "shops": args.shops, "days": args.days, "database": _name(url)}
    started = time.monotonic()
    if not reuse:
        database_drop(url)
        with _admin(url) as admin:
            admin.execute(f'CREATE DATABASE "{_name(url)}"')

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from shops.sales.facts import sales_facts_rebuild

    if reuse:
        first_day = datetime.date.fromisoformat(label["first_day"])
        last_day = datetime.date.fromisoformat(label["last_day"])
        result.update({k: label[k] for k in ("generate_s", "facts_s", "facts_days", "migrate_s", "steps")})
        _log(f"reusing {_name(url)} (built {label['built_at']}; {first_day} – {last_day})")
        # Migrations added since it was built (their data migrations fill what they add).
        t = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        vacuum_analyze()  # what they wrote, and any churn since (autovacuum's job in production)
        result["reuse_migrate_s"] = time.monotonic() - t
        _log(f"migrated to the current models and VACUUM ANALYZE in {result['reuse_migrate_s']:.1f} s")
    else:
        last_day = timezone.localdate() - datetime.timedelta(days=1)
        first_day = last_day - datetime.timedelta(days=args.days - 1)
        _log(f"migrating a fresh database {_name(url)}")
        t = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        result["migrate_s"] = time.monotonic() - t
        buyers, guests = max(200, args.lines // 25), max(100, args.lines // 100)
        t = time.monotonic()
        world_build(shops=args.shops, first_day=first_day, last_day=last_day, buyers=buyers)
        _log(
            f"world: {len(COUNTIES)} counties, {len(COUNTIES) * TOWNS_PER_COUNTY} towns, "
            f"{len(COUNTIES) * TOWNS_PER_COUNTY * VILLAGES_PER_TOWN} villages, {args.shops} shops × "
            f"{PRODUCTS_PER_SHOP} products, {buyers:,} buyers + guests ({time.monotonic() - t:.1f} s)"
        )
        generated = orders_generate(
            lines=args.lines,
            shops=args.shops,
            buyers=buyers,
            guests=guests,
            first_day=first_day,
            days=args.days,
        )
        for step, rows, seconds in generated["steps"]:
            _log(f"  {step:<30} {rows if rows is not None and rows >= 0 else '':>10} {seconds:7.1f} s")
        keys = foreign_keys_check()
        vacuum_analyze()
        result["generate_s"] = time.monotonic() - t
        result["steps"] = [[s, r, round(x, 2)] for s, r, x in generated["steps"]]
        _log(
            f"orders generated in {result['generate_s']:.0f} s ({keys} foreign keys checked, VACUUM ANALYZE)"
        )
        _log(f"building the facts with sales_facts_rebuild(since={first_day}, until={last_day}) …")
        t = time.monotonic()
        result["facts_days"] = sales_facts_rebuild(since=first_day, until=last_day)
        result["facts_s"] = time.monotonic() - t
        vacuum_analyze()
        _log(f"facts of {result['facts_days']} days built in {result['facts_s']:.0f} s")
        label = {
            **label_wanted,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "built_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            **{k: result[k] for k in ("generate_s", "facts_s", "facts_days", "migrate_s", "steps")},
        }
        with connection.cursor() as cursor:
            # A utility statement takes no bound parameter (the settings bind them in PostgreSQL): the
            # label is quoted into the text by psycopg instead.
            comment = connection.ops.compose_sql(
                f'COMMENT ON DATABASE "{_name(url)}" IS %s', [json.dumps(label)]
            )
            cursor.execute(comment)
    result["build_s"] = time.monotonic() - started
    result["first_day"], result["last_day"] = first_day.isoformat(), last_day.isoformat()
    result["sizes"] = sizes()
    for name, size in result["sizes"].items():
        rows = f"{size['rows']:>12,}" if size["rows"] is not None else " " * 12
        mb = f"{size['mb']:>9,.1f} MB" if size["mb"] is not None else ""
        _log(f"  {name:<32}{rows}{mb}")

    months = months_to_measure(first_day, last_day)
    check = facts_check(months[0][1])
    result["facts_check"] = check
    _log(
        f"facts vs a direct computation over the order lines for {months[0][1].label}: "
        f"{'agree to the cent' if check['agree'] else 'DISAGREE'} ({check['direct']}); the direct "
        f"computation took {check['direct_ms']:.0f} ms"
    )
    if not check["agree"]:
        _log(f"  facts: {check['facts']}")
        return 1
    from marketplace.periods import custom_period
    from marketplace.process import start_up_done

    for whole in (
        long_range_check(custom_period(first_day, last_day)),
        long_range_check(custom_period(last_day - datetime.timedelta(days=364), last_day)),
    ):
        result.setdefault("long_range_checks", []).append(whole)
        if not _long_range_log(whole):
            return 1

    member = get_user_model().objects.get(username="bench-association")
    client = Client()
    client.force_login(member)
    # As a web process does once it has loaded (marketplace/wsgi.py): what this one holds now is taken out
    # of the collector's full collections, which would otherwise scan it again and again while measuring.
    start_up_done()
    _log(
        f"load average before measuring: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; "
        f"{args.warmup} warm-up + {args.requests} timed requests per page, one at a time"
    )
    pages = []
    failures = 0
    for role, period, sales, params, dimension in periods_to_measure(months, first_day, last_day):
        query = urlencode({**params, "dimension": dimension})
        page = page_measure(
            client, f"/association/sales/?{query}", requests=args.requests, warmup=args.warmup
        )
        selector = selector_measure(period, requests=args.requests, warmup=args.warmup, dimension=dimension)
        page.update({"role": role, "month": period.label, "sales": sales, "dimension": dimension})
        pages.append({"page": page, "selector": selector})
        within = page["queries"] == PAGE_QUERY_BUDGET and selector["queries"] == SELECTOR_QUERY_BUDGET
        failures += not within
        verdict = "PASS" if page["p95_ms"] < CEILING_MS else "FAIL"
        _log(
            f"  {role:<18} {period.label} ({sales:>7,} sales, {selector['rows']} rows by {dimension}): "
            f"page p50 {page['p50_ms']:6.1f} p95 {page['p95_ms']:6.1f} max {page['max_ms']:6.1f} ms "
            f"[{verdict} p95 < {CEILING_MS:.0f} ms], {page['queries']} queries "
            f"({page['sql_ms']:.0f} ms SQL); "
            f"selector p50 {selector['p50_ms']:6.1f} p95 {selector['p95_ms']:6.1f} ms, "
            f"{selector['queries']} queries"
            + ("" if within else f"  ← budget {PAGE_QUERY_BUDGET} / {SELECTOR_QUERY_BUDGET}")
        )
    result["months"] = pages
    result["load_average_after_pages"] = Path("/proc/loadavg").read_text().split()[:3]

    # Beside the page (not under the ceiling): its chart (a request of its own), the CSV export, and the
    # other breakdowns of the busiest month.
    busiest = months[0][1]
    extras = {}
    fewer = max(5, args.requests // 5)
    base = {"period": "month", "on": busiest.start.isoformat()}
    for name, path, params in [
        ("chart (SVG)", "/association/sales/chart.svg", {**base, "dimension": "shop"}),
        ("CSV export", "/association/sales/export/", {**base, "dimension": "shop", "format": "csv"}),
        ("by county", "/association/sales/", {**base, "dimension": "county"}),
        ("by category", "/association/sales/", {**base, "dimension": "category"}),
        ("by product", "/association/sales/", {**base, "dimension": "product"}),
    ]:
        extras[name] = page_measure(client, f"{path}?{urlencode(params)}", requests=fewer, warmup=1)
        e = extras[name]
        _log(
            f"  {name:<16} {busiest.label}: p50 {e['p50_ms']:6.1f} p95 {e['p95_ms']:6.1f} ms, "
            f"{e['queries']} queries ({e['sql_ms']:.0f} ms SQL)"
        )
    result["extras"] = extras

    # The category and product breakdowns, and a category filter by shop, over the busiest month and the
    # long periods too (product and category roll-ups, the buyers' chains by category): each p95 against
    # the same ceiling, and each period in the queries of the month.
    from oscar.core.loading import get_model

    root = get_model("catalogue", "Category").objects.filter(depth=1).order_by("path").first()
    long_periods = [
        (role, period, params)
        for role, period, _sales, params, dimension in periods_to_measure(months, first_day, last_day)
        if dimension == "shop" and role in ("season", "last 365 days", "two years")
    ]
    breakdowns = []
    for name, chosen in (
        ("by category", {"dimension": "category"}),
        ("by product", {"dimension": "product"}),
        (f"{root.name} by shop", {"dimension": "shop", "category": root.pk}),
        (f"{root.name} by village", {"dimension": "village", "category": root.pk}),
    ):
        month_queries = None
        for role, period, params in [("busiest month", busiest, base), *long_periods]:
            query = urlencode({**params, **chosen})
            page = page_measure(
                client, f"/association/sales/?{query}", requests=args.requests, warmup=args.warmup
            )
            month_queries = month_queries if month_queries is not None else page["queries"]
            failures += page["queries"] != month_queries
            verdict = "PASS" if page["p95_ms"] < CEILING_MS else "FAIL"
            page.update({"name": name, "role": role, "period": period.label})
            breakdowns.append(page)
            _log(
                f"  {name:<16} {role:<14} {period.label}: p50 {page['p50_ms']:6.1f} "
                f"p95 {page['p95_ms']:6.1f} ms [{verdict} p95 < {CEILING_MS:.0f} ms], {page['queries']} "
                f"queries ({page['sql_ms']:.0f} ms SQL)"
                + ("" if page["queries"] == month_queries else f"  ← the month's {month_queries}")
            )
    result["breakdowns"] = breakdowns
    result["measured_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    result["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    (VAR_DIR / f"results-{args.lines}.json").write_text(json.dumps(result, indent=2, default=str))
    connection.close()
    return 1 if failures else 0


# --- the driver ----------------------------------------------------------------------------------------


def _child(args, lines: int) -> int:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--one",
        "--lines",
        str(lines),
        "--shops",
        str(args.shops),
        "--days",
        str(args.days),
        "--requests",
        str(args.requests),
        "--warmup",
        str(args.warmup),
        "--database-url",
        args.database_url,
    ]
    command += ["--keep"] if args.keep else []
    command += ["--regenerate"] if args.regenerate else []
    return subprocess.call(command, cwd=REPO)  # noqa: S603  (ourselves)


def summary(results: list[dict]) -> str:
    out = ["", "sales review for any period (Django test client, in-process, PostgreSQL)", ""]
    out.append(
        "| lines | period | by | sales | page p50 ms | p95 ms | max ms | queries | selector p50 ms | p95 ms "
        "| p95 < 300 ms | load |"
    )
    out.append("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        for m in r["months"]:
            p, s = m["page"], m["selector"]
            out.append(
                f"| {r['lines']:,} | {p['month']} ({p['role']}) | {p.get('dimension', 'shop')} | "
                f"{p['sales']:,} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | {p['max_ms']:.1f} | "
                f"{p['queries']} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | "
                f"{'PASS' if p['p95_ms'] < CEILING_MS else 'FAIL'} | "
                f"{' '.join(r.get('load_average_after_pages', []))} |"
            )
    out += [
        "",
        "| lines | orders | shop orders | events | refunds | fact rows | database | generated | facts |",
    ]
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        z = r["sizes"]
        facts = sum(
            z[name]["rows"]
            for name in (
                "SalesDay",
                "ProductSalesDay",
                "CategorySalesDay",
                "BuyerSalesDay",
                "SalesMonth",
                "BuyerSalesMonth",
                "BuyerSalesChain",
            )
        )
        out.append(
            f"| {r['lines']:,} | {z['orders']['rows']:,} | {z['shop orders']['rows']:,} | "
            f"{z['shop order events']['rows']:,} | {z['refunds']['rows']:,} | {facts:,} | "
            f"{z['database']['mb']:,.0f} MB | {r['generate_s']:.0f} s | "
            f"{r['facts_s']:.0f} s ({r['facts_days']} days) |"
        )
    worst = max(m["page"]["p95_ms"] for r in results for m in r["months"])
    big = results[0]
    out.append("")
    if len(results) > 1:
        small = results[1]
        for stat in ("p50_ms", "p95_ms"):
            ratios = [
                b["page"][stat] / s["page"][stat] for b, s in zip(big["months"], small["months"], strict=True)
            ]
            out.append(
                f"page {stat[:3]} at {big['lines']:,} lines / at {small['lines']:,} lines (in the order "
                f"above): {' '.join(f'{x:.2f}' for x in ratios)}"
            )
    out.append(
        f"verdict: worst p95 {worst:.1f} ms against the {CEILING_MS:.0f} ms ceiling: "
        + ("PASS" if worst < CEILING_MS else "FAIL")
        + f"; queries {PAGE_QUERY_BUDGET} per page (selector {SELECTOR_QUERY_BUDGET}) for every period "
        "and size"
    )
    return "\n".join(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.one:
        return one_size(args)
    sizes_run = [args.lines]
    if not args.no_baseline:
        sizes_run.append(args.baseline_lines or max(1000, args.lines // 10))
    status = 0
    results = []
    try:
        for lines in sizes_run:
            print(f"\n=== {lines:,} order lines, {args.shops} shops, {args.days} days ===", flush=True)
            started = time.monotonic()
            code = _child(args, lines)
            print(f"({time.monotonic() - started:.0f} s)", flush=True)
            if code:
                status = code
                break
            results.append(json.loads((VAR_DIR / f"results-{lines}.json").read_text()))
    finally:
        if not args.keep:
            for lines in sizes_run:
                database_drop(database_url(args.database_url, lines))
    if results:
        text = summary(results)
        print(text)
        (VAR_DIR / "summary.md").write_text(text + "\n")
        print(f"\nresults: {VAR_DIR}/results-*.json, summary.md")
    return status


if __name__ == "__main__":
    sys.exit(main())

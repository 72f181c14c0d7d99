"""The marketplace beside stock Oscar: the same products served by both, each page measured with wrk as a
share of its own server's bare-Django ceiling, for issue 14's goal "product page ≥ 25× stock Oscar".

    .venv/bin/python bench/oscar_peer.py                          # 2,000 products, 3 rounds of 8 s a page
    .venv/bin/python bench/oscar_peer.py --duration 2 --rounds 1  # a quick check that it works
    .venv/bin/python bench/oscar_peer.py --only product           # the product page only

The peer is stock django-oscar 4.2.1 configured like its sandbox (bench/stock_oscar/settings.py says what
is and is not as the sandbox has it), on its own SQLite database in var/bench/stock-oscar-<N>/: Oscar's
migrations, one product class, the marketplace benchmark's 11 categories and 20 shops (as partners), and a
copy of the marketplace benchmark's N products (title, slug, description, UPC, category, price in CNY and
stock), each with one image row pointing at the same JPEG as the marketplace's. It is made again when the
marketplace's catalogue or this builder changes (or with ``--regenerate``) and kept otherwise. The
marketplace's catalogue is var/bench/<N>-products/, made or reused by ``bench.catalogue.catalogue_ensure``
as bench/storefront.py does (``--regenerate`` does not rebuild it: bench/storefront.py does).

The two never share a Django process (their settings differ): each side's catalogue is prepared by this
script run again as a subprocess under that side's settings (``--side``), which writes the pages to load
into var/bench/oscar-peer-<N>/. Then two gunicorn servers run at once, 2 sync workers each: the
marketplace as bench/storefront.py's *cached* state serves it (the page cache on, its Redis cache emptied
first) and stock Oscar. Pages, as bench/storefront.py picks them: the product in the middle of each
catalogue by primary key (the same product on both), the root category with the most products below it,
and a search for 水蜜桃 and for "peach" (on stock Oscar through Haystack's simple backend).

Every page is first checked to answer 200 (the product page to show its product's title) and requested
10 times. Then ``--rounds`` rounds, the servers taking turns at going first: on each server the ceiling
(``--ceiling-duration``, 4 s), then every page (``--duration``, 8 s) with the ceiling again after it, and
each page's share is its rate over the mean of the ceiling runs on either side of it. Before every run
both servers' workers are waited on until idle (a slow page leaves requests queued after wrk stops). wrk
sends no cookies. A request unanswered after ``--timeout`` seconds is counted and reported as timed out.

Output: a table of the rounds' medians (each quotient the median of the rounds' quotients), how many
products each page lists on either side (under Haystack's simple backend stock Oscar's category page
lists none: its figure is an empty page's), the goal (the product page's rate over stock Oscar's, at
least 25: the issue's table divides rates; the quotient of shares is printed beside it) and
var/bench/oscar-peer-<N>/results.json.
Exits non-zero when a page does not answer 200, a product page lacks its title or wrk counts errors other
than timeouts; a missed goal is printed, not an error.
"""

import argparse
import hashlib
import html
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import warnings
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote, unquote

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.storefront import (  # noqa: E402
    DEFAULT_CACHE_URL,
    SEARCH_EN,
    SEARCH_ZH,
    Page,
    Server,
    cache_flush,
    environment,
    fetch,
    load_average,
    measure,
    pages_to_load,
    share_of_ceiling,
)

PAGE_NAMES = ("product", "category", "search (zh)", "search (en)")
GOAL = 25.0  # the product page's rate over stock Oscar's (as the table divides)
SIDES = ("project", "stock_oscar")
LABELS = {"project": "project", "stock_oscar": "stock Oscar"}
PEER_SETTINGS = "bench.stock_oscar.settings"
PEER_APP = "django.core.wsgi:get_wsgi_application()"
# How a listed product begins in each side's HTML (the marketplace's storefront_tags.CARD_MARKER; Oscar's
# catalogue/partials/product.html), to count the products a page lists.
CARD_MARKERS = {"project": '<article class="product-card', "stock_oscar": '<article class="product_pod"'}
# Part of the peer's fingerprint: a change to how it is built builds it again.
BUILDER_VERSION = 1
BATCH = 2000


def out_dir(args) -> Path:
    return REPO / "var" / "bench" / f"oscar-peer-{args.products}"


def peer_dir(args) -> Path:
    return REPO / "var" / "bench" / f"stock-oscar-{args.products}"


def peer_environment(args) -> dict:
    """Stock Oscar's settings, its files in var/bench/stock-oscar-<N>/ (``VAR_DIR``: Server's log there)."""
    directory = peer_dir(args)
    return {
        "DJANGO_SETTINGS_MODULE": PEER_SETTINGS,
        "STOCK_OSCAR_DB": str(directory / "db.sqlite3"),
        "STOCK_OSCAR_MEDIA_ROOT": str(directory / "media"),
        "STOCK_OSCAR_STATIC_ROOT": str(directory / "static"),
        "VAR_DIR": str(directory),
        "STOCK_OSCAR_TEMPLATES": "sandbox" if args.sandbox_templates else "",
    }


def project_environment(args) -> dict:
    """bench/storefront.py's environment in its cached state (fragments, pages and product cards kept)."""
    return {**environment(args), "STOREFRONT_CACHE_SECONDS": "300", "STOREFRONT_CARD_STORE": "true"}


# --- The marketplace's side (run with bench.settings) ----------------------------------------------


def project_prepare(args) -> None:
    """Make or reuse the marketplace's catalogue, write its pages and a copy of its catalogue for the peer,
    and empty its shared cache."""
    Path(os.environ["STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
    warnings.filterwarnings("ignore", message=r"Using Category\.get_")  # treebeard 8 deprecations in Oscar
    import django

    django.setup()
    from django.db import connection
    from django.urls import resolve
    from oscar.core.loading import get_model

    from bench.catalogue import catalogue_ensure

    Product = get_model("catalogue", "Product")
    catalogue_ensure(products=args.products, shops=args.shops)
    pages = [page for page in pages_to_load() if page.name in PAGE_NAMES]
    product_path = next(page.path for page in pages if page.name == "product")
    product = Product.objects.get(pk=resolve(unquote(product_path)).kwargs["pk"])
    source = catalogue_export(Product.objects.storefront().order_by("pk"))
    Path(args.source).write_text(json.dumps(source, ensure_ascii=False))
    cache_flush(args.cache_url)
    connection.close()
    side = {
        "pages": [{"name": page.name, "path": page.path} for page in pages],
        "product": {"pk": product.pk, "upc": product.upc, "title": product.title},
        "database": os.environ["DATABASE_URL"],
    }
    Path(args.side_out).write_text(json.dumps(side, ensure_ascii=False, indent=2))


def catalogue_export(storefront) -> dict:
    """The products buyers see, in primary-key order, with what stock Oscar has fields for, the categories
    and shops they are in and the photo's file; its fingerprint says whether the peer is built from it."""
    from django.conf import settings
    from oscar.core.loading import get_model

    from bench.catalogue import CATEGORIES, IMAGE_NAME

    ProductCategory = get_model("catalogue", "ProductCategory")
    StockRecord = get_model("partner", "StockRecord")
    Partner = get_model("partner", "Partner")

    ids = list(storefront.values_list("pk", flat=True))
    # The first link and stock record by primary key (each product of the benchmark has one of each).
    category_of: dict = {}
    for product_id, slug in (
        ProductCategory.objects.filter(product_id__in=ids)
        .order_by("pk")
        .values_list("product_id", "category__slug")
    ):
        category_of.setdefault(product_id, slug)
    stock_of: dict = {}
    for product_id, *stock in (
        StockRecord.objects.filter(product_id__in=ids)
        .order_by("pk")
        .values_list("product_id", "partner__code", "price", "price_currency", "num_in_stock")
    ):
        stock_of.setdefault(product_id, stock)
    products = []
    for pk, title, slug, description, upc in storefront.values_list(
        "pk", "title", "slug", "description", "upc"
    ):
        partner, price, currency, num_in_stock = stock_of[pk]
        products.append(
            [title, slug, description, upc, category_of[pk], partner, str(price), currency, num_in_stock]
        )
    partner_codes = {product[5] for product in products}
    partners = [
        [code, name]
        for code, name in Partner.objects.filter(code__in=partner_codes)
        .order_by("pk")
        .values_list("code", "name")
    ]
    categories = [
        [zh, slug, [[child_zh, child_slug] for child_zh, _en, child_slug in children]]
        for (zh, _en, slug), children in CATEGORIES
    ]
    image = Path(settings.MEDIA_ROOT) / IMAGE_NAME
    content = {
        "categories": categories,
        "partners": partners,
        "products": products,
        "image_name": IMAGE_NAME,
        "image_sha256": hashlib.sha256(image.read_bytes()).hexdigest(),
        "builder_version": BUILDER_VERSION,
    }
    fingerprint = hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()
    return {**content, "image_path": str(image), "fingerprint": fingerprint}


# --- Stock Oscar's side (run with bench.stock_oscar.settings) --------------------------------------


def peer_prepare(args) -> None:
    """Build stock Oscar's catalogue from the marketplace's copy unless it is built from it already, and
    write its pages."""
    warnings.filterwarnings("ignore", message=r"Using Category\.")  # treebeard 8 deprecations in Oscar
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    source = json.loads(Path(args.source).read_text())
    marker = Path(settings.DATABASES["default"]["NAME"]).parent / "built-from"
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    built = marker.exists() and marker.read_text() == source["fingerprint"] and peer_complete(source)
    if args.regenerate or not built:
        marker.unlink(missing_ok=True)
        peer_build(source)
        marker.write_text(source["fingerprint"])
    else:
        print(f"reusing {settings.DATABASES['default']['NAME']} ({len(source['products']):,} products)")
    side = peer_pages()
    connection.close()
    Path(args.side_out).write_text(json.dumps(side, ensure_ascii=False, indent=2))


def peer_complete(source: dict) -> bool:
    from oscar.core.loading import get_model

    Product = get_model("catalogue", "Product")
    StockRecord = get_model("partner", "StockRecord")
    ProductImage = get_model("catalogue", "ProductImage")
    expected = len(source["products"])
    try:
        counts = (Product.objects.count(), StockRecord.objects.count(), ProductImage.objects.count())
    except Exception:  # no database, or a half-built one: build it again
        return False
    return counts == (expected, expected, expected)


def peer_build(source: dict) -> None:
    """A fresh database: Oscar's migrations, then the catalogue in bulk (one transaction)."""
    import time
    from decimal import Decimal

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from oscar.core.loading import get_model

    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")
    ProductCategory = get_model("catalogue", "ProductCategory")
    ProductClass = get_model("catalogue", "ProductClass")
    ProductImage = get_model("catalogue", "ProductImage")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")

    started = time.monotonic()
    connection.close()
    path = Path(settings.DATABASES["default"]["NAME"])
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"migrating a fresh stock Oscar database at {path}")
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.monotonic()

    media = Path(settings.MEDIA_ROOT)
    shutil.rmtree(media / "cache", ignore_errors=True)  # sorl's thumbnails of an earlier build
    image = media / source["image_name"]
    image.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source["image_path"], image)

    with transaction.atomic():
        product_class = ProductClass.objects.create(
            name="农产品", slug="produce", requires_shipping=True, track_stock=True
        )
        categories = {}
        for name, slug, children in source["categories"]:
            root = Category.objects.add_root(create_kwargs={"name": name, "slug": slug})
            categories[slug] = root
            for child_name, child_slug in children:
                categories[child_slug] = Category.objects.add_child(
                    root, create_kwargs={"name": child_name, "slug": child_slug}
                )
        partners = {code: Partner.objects.create(code=code, name=name) for code, name in source["partners"]}
        rows = source["products"]
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            products = Product.objects.bulk_create(
                [
                    Product(
                        structure=Product.STANDALONE,
                        title=title,
                        slug=slug,
                        description=description,
                        upc=upc,
                        product_class=product_class,
                        is_public=True,
                    )
                    for title, slug, description, upc, *_rest in batch
                ]
            )
            links, stock, images = [], [], []
            for product, row in zip(products, batch, strict=True):
                _title, _slug, _description, upc, category, partner, price, currency, num_in_stock = row
                links.append(ProductCategory(product=product, category=categories[category]))
                stock.append(
                    StockRecord(
                        product=product,
                        partner=partners[partner],
                        partner_sku=upc,
                        price=Decimal(price),
                        price_currency=currency,
                        num_in_stock=num_in_stock,
                    )
                )
                images.append(ProductImage(product=product, original=source["image_name"], display_order=0))
            ProductCategory.objects.bulk_create(links)
            StockRecord.objects.bulk_create(stock)
            ProductImage.objects.bulk_create(images)
    connection.close()
    print(
        f"stock Oscar: {len(rows):,} products, {len(categories)} categories, {len(partners)} partners "
        f"(migrations {migrated - started:.0f} s, catalogue {time.monotonic() - migrated:.1f} s)"
    )


def peer_pages() -> dict:
    """The pages bench/storefront.py loads, picked the same way in stock Oscar's catalogue."""
    from django.urls import reverse
    from django.utils.encoding import iri_to_uri
    from oscar.core.loading import get_model

    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")

    def products_below(category) -> int:
        return Product.objects.filter(categories__in=category.get_descendants_and_self()).distinct().count()

    category = max(Category.get_root_nodes(), key=products_below)
    products = Product.objects.order_by("pk")
    product = products[products.count() // 2]
    search = reverse("search:search")
    pages = [
        Page("category", iri_to_uri(category.get_absolute_url())),
        Page("product", iri_to_uri(product.get_absolute_url())),
        Page("search (zh)", f"{search}?q={quote(SEARCH_ZH)}"),
        Page("search (en)", f"{search}?q={quote(SEARCH_EN)}"),
    ]
    return {
        "pages": [{"name": page.name, "path": page.path} for page in pages],
        "product": {"pk": product.pk, "upc": product.upc, "title": product.title},
    }


# --- The run (no Django in this process) -----------------------------------------------------------


def side_prepare(side: str, args, env: dict) -> dict:
    """This script again, as a subprocess under ``side``'s settings; returns the pages it wrote."""
    side_out = out_dir(args) / f"{side}.json"
    side_out.unlink(missing_ok=True)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--side", side,
        "--products", str(args.products), "--cache-url", args.cache_url,
        "--source", str(peer_dir(args) / "source.json"), "--side-out", str(side_out),
    ]  # fmt: skip
    if args.regenerate:
        command.append("--regenerate")
    done = subprocess.run(command, cwd=REPO, env={**os.environ, **env}, check=False)
    if done.returncode or not side_out.exists():
        raise SystemExit(f"preparing the {LABELS[side]} side failed ({done.returncode})")
    return json.loads(side_out.read_text())


def mentions(body: bytes, text: str) -> bool:
    page = body.decode(errors="replace")
    return text in page or html.escape(text) in page


def check_and_warm(side: str, server: Server, pages: list[Page], title: str, args) -> dict[str, int]:
    """Every page answers 200, the product page shows its product's title; then each is requested
    ``--warmup`` times (templates compiled, thumbnails drawn, caches filled in both workers). Returns how
    many products each page lists."""
    listed = {}
    for page in pages:
        status, body = fetch(server.base + page.path)
        problem = ""
        if status != 200:
            problem = f"answered {status}"
        elif page.name == "product" and not mentions(body, title):
            problem = f"does not show the product's title {title!r}"
        if problem:
            print(f"FAIL {LABELS[side]}: {page.name} {page.path} {problem}")
            print(body[:2000].decode(errors="replace"))
            print(f"--- gunicorn log ---\n{server.log_tail()}")
            raise SystemExit(1)
        listed[page.name] = body.decode(errors="replace").count(CARD_MARKERS[side])
        for _ in range(args.warmup):
            fetch(server.base + page.path)
    return listed


def run(page: Page, server: Server, servers: dict, args) -> Page:
    """One wrk run, after both servers' workers are idle (the other may still be answering a slow page;
    ``measure`` waits for its own)."""
    for each in servers.values():
        if each is not server:
            each.settle()
    return measure(page, server, args)


def measure_side(side: str, servers: dict, pages: list[Page], args, round_no: int) -> dict:
    """The ceiling, then every page with the ceiling again after it, on one server."""
    server = servers[side]
    ceiling_args = argparse.Namespace(**{**vars(args), "duration": args.ceiling_duration})
    ceilings = [run(Page("ceiling", "/bench/ceiling/"), server, servers, ceiling_args)]
    measured = []
    for template in pages:
        page = run(Page(template.name, template.path), server, servers, args)
        ceilings.append(run(Page("ceiling", "/bench/ceiling/"), server, servers, ceiling_args))
        page.ratio = share_of_ceiling(page, ceilings[-2], ceilings[-1])
        measured.append(page)
        print(
            f"  [round {round_no}, {LABELS[side]:11}] {page.name:11} {page.requests_per_s:8.1f} req/s"
            f"  p50 {page.p50_ms:8.1f} ms  ceiling {ceilings[-1].requests_per_s:6.0f} req/s"
            f"  {page.ratio * 100:6.2f} %{'  (' + page.errors + ')' if page.errors else ''}",
            flush=True,
        )
    return {"ceilings": ceilings, "pages": measured}


def error_parts(errors: str) -> tuple[str, int]:
    """wrk's errors of a run (measure()'s "kind n, …") as (everything but timeouts, timeouts)."""
    other, timeouts = [], 0
    for part in filter(None, (p.strip() for p in errors.split(","))):
        kind, _, count = part.rpartition(" ")
        if kind == "timeout":
            timeouts += int(count)
        else:
            other.append(part)
    return ", ".join(other), timeouts


def quotient(a: float, b: float) -> float | None:
    return a / b if b else None


def median(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(rounds: list[dict], names: list[str]) -> list[dict]:
    """Per page (and the ceiling): each side's median rate and share over the rounds, and the medians of
    the rounds' quotients (marketplace over stock Oscar, by rate and by share)."""
    rows = []
    for name in ["ceiling", *names]:
        row: dict = {"page": name}
        per_round: dict = {side: [] for side in SIDES}
        for result in rounds:
            for side in SIDES:
                if name == "ceiling":
                    ceilings = result[side]["ceilings"]
                    rate = sum(c.requests_per_s for c in ceilings) / len(ceilings)
                    per_round[side].append((rate, 1.0, 0))
                else:
                    page = next(p for p in result[side]["pages"] if p.name == name)
                    per_round[side].append((page.requests_per_s, page.ratio, error_parts(page.errors)[1]))
        for side in SIDES:
            row[side] = {
                "requests_per_s": median([r for r, _s, _t in per_round[side]]),
                "share": median([s for _r, s, _t in per_round[side]]),
                "timeouts": sum(t for _r, _s, t in per_round[side]),
            }
        pairs = list(zip(per_round["project"], per_round["stock_oscar"], strict=True))
        row["rate_quotients"] = [quotient(p[0], o[0]) for p, o in pairs]
        row["share_quotients"] = [quotient(p[1], o[1]) for p, o in pairs]
        row["project_over_stock_by_rate"] = median(row["rate_quotients"])
        row["project_over_stock_by_share"] = median(row["share_quotients"])
        rows.append(row)
    return rows


def times(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}×"


def table(rows: list[dict]) -> str:
    lines = [
        "| page | project req/s | project % of ceiling | stock Oscar req/s | stock Oscar % of ceiling "
        "| project ÷ stock Oscar (by rate) | project share ÷ stock share |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [row["page"]]
        for side in SIDES:
            figures = row[side]
            rate = f"{figures['requests_per_s']:,.1f}"
            if figures["timeouts"]:
                rate += f" ({figures['timeouts']} timed out)"
            cells += [rate, f"{figures['share'] * 100:.2f}"]
        share_quotient = "–" if row["page"] == "ceiling" else times(row["project_over_stock_by_share"])
        cells += [times(row["project_over_stock_by_rate"]), share_quotient]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per page (default 8)")
    parser.add_argument(
        "--ceiling-duration", type=int, default=4, help="seconds of load per ceiling run (default 4)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--timeout",
        dest="wrk_timeout",
        type=int,
        default=30,
        help="seconds after which wrk counts a request as timed out (default 30)",
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--warmup", type=int, default=10, help="requests per page before measuring")
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="rebuild stock Oscar's catalogue even if it is current (not the marketplace's)",
    )
    parser.add_argument(
        "--sandbox-templates",
        action="store_true",
        help="stock Oscar with its sandbox's template loaders (templates compiled on every request)",
    )
    parser.add_argument("--only", nargs="*", help=f"measure only these pages (by name prefix: {PAGE_NAMES})")
    parser.add_argument(
        "--cache-url",
        default=DEFAULT_CACHE_URL,
        help=f"the marketplace's shared cache (default {DEFAULT_CACHE_URL}, flushed at the start)",
    )
    # Internal: this script run again under one side's settings (side_prepare).
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--side-out", help=argparse.SUPPRESS)
    # What bench/storefront.py's environment(), Server and wrk() read.
    parser.set_defaults(
        shops=20, var_dir=None, port=0, workers=2, worker_class="sync", threads=1, threads_wrk=2
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side == "project":
        project_prepare(args)
        return 0
    if args.side == "stock_oscar":
        peer_prepare(args)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    # A SIGTERM ends the run through compare()'s finally, which stops both servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out_dir(args).mkdir(parents=True, exist_ok=True)
    peer_dir(args).mkdir(parents=True, exist_ok=True)
    envs = {"project": project_environment(args), "stock_oscar": peer_environment(args)}
    prepared = {side: side_prepare(side, args, envs[side]) for side in SIDES}
    pages = {
        side: sorted(
            (
                Page(page["name"], page["path"])
                for page in prepared[side]["pages"]
                if not args.only or any(page["name"].startswith(name) for name in args.only)
            ),
            key=lambda page: PAGE_NAMES.index(page.name),
        )
        for side in SIDES
    }
    names = [page.name for page in pages["project"]]
    if not names or names != [page.name for page in pages["stock_oscar"]]:
        raise SystemExit(f"no pages to measure, or not the same on both sides: {pages}")
    for side in SIDES:
        product = prepared[side]["product"]
        print(f"{LABELS[side]}: product {product['title']} (UPC {product['upc']}); pages:")
        for page in pages[side]:
            print(f"  {page.name:11} {page.path}")
    if prepared["project"]["product"]["upc"] != prepared["stock_oscar"]["product"]["upc"]:
        print("note: the two product pages show different products (their UPCs differ)")
    rounds, peaks, listed = compare(args, envs, prepared, pages)
    return report(args, prepared, pages, rounds, peaks, listed)


def compare(args, envs: dict, prepared: dict, pages: dict) -> tuple[list[dict], dict, dict]:
    """Both servers up, every page checked and warmed, then the rounds; the servers are always stopped."""
    servers = {
        "project": Server(args, envs["project"], log_path=out_dir(args) / "project-gunicorn.log"),
        "stock_oscar": Server(args, envs["stock_oscar"], app=PEER_APP),
    }
    rounds: list[dict] = []
    try:
        for side in SIDES:
            servers[side].start()
        listed = {
            side: check_and_warm(side, servers[side], pages[side], prepared[side]["product"]["title"], args)
            for side in SIDES
        }
        for round_no in range(1, args.rounds + 1):
            order = SIDES if round_no % 2 else SIDES[::-1]
            result: dict = {"round": round_no, "order": list(order), "load_before": load_average()}
            print(
                f"\nround {round_no} of {args.rounds}, load average before: {result['load_before']}",
                flush=True,
            )
            for side in order:
                result[side] = measure_side(side, servers, pages[side], args, round_no)
            result["load_after"] = load_average()
            rounds.append(result)
        peaks = {side: servers[side].worker_peak_rss_mb() for side in SIDES}
    finally:
        for server in servers.values():
            server.stop()
    return rounds, peaks, listed


def report(args, prepared: dict, pages: dict, rounds: list[dict], peaks: dict, listed: dict) -> int:
    """The table, the goal and results.json; 1 when wrk counted errors other than timeouts."""
    rows = summarise(rounds, [page.name for page in pages["project"]])
    templates = "as its sandbox loads them (compiled per request)" if args.sandbox_templates else "cached"
    print()
    print(
        f"{args.products:,} products; each server gunicorn {args.workers} {args.worker_class} workers; "
        f"wrk -t{args.threads_wrk} -c{args.connections} --timeout {args.wrk_timeout}s, {args.duration} s per "
        f"page, {args.ceiling_duration} s per ceiling run; medians of {len(rounds)} round(s); stock Oscar's "
        f"templates {templates}"
    )
    print(table(rows))
    names = [page.name for page in pages["project"]]
    print(
        "products listed (project / stock Oscar): "
        + ", ".join(f"{name} {listed['project'][name]} / {listed['stock_oscar'][name]}" for name in names)
    )
    for name in names:
        for side, other in (SIDES, SIDES[::-1]):
            if listed[side][name] == 0 and listed[other][name] > 0:
                print(f"note: {LABELS[side]}'s {name} page lists no products ({LABELS[other]}'s lists some)")
    print(
        "worker peak RSS (VmHWM): "
        + "; ".join(
            f"{LABELS[side]} " + ", ".join(f"{mb:.0f} MB" for mb in peaks[side].values()) for side in SIDES
        )
    )
    product_row = next((row for row in rows if row["page"] == "product"), None)
    goal: dict = {"target": GOAL, "measured": None, "met": None}
    if product_row is not None:
        measured = product_row["project_over_stock_by_rate"]
        goal = {"target": GOAL, "measured": measured, "met": measured is not None and measured >= GOAL}
        verdict = "met" if goal["met"] else "MISSED"
        print(
            f"goal: product page ≥ {GOAL:.0f}× stock Oscar (by rate): {times(measured)} — {verdict} "
            f"(shares of each one's ceiling: {times(product_row['project_over_stock_by_share'])})"
        )
    results = {
        "products": args.products,
        "rounds": len(rounds),
        "duration_s": args.duration,
        "ceiling_duration_s": args.ceiling_duration,
        "connections": args.connections,
        "wrk_timeout_s": args.wrk_timeout,
        "workers": args.workers,
        "worker_class": args.worker_class,
        "cache_url": args.cache_url,
        "stock_oscar_templates": "sandbox (compiled per request)" if args.sandbox_templates else "cached",
        "sides": {
            side: {
                "label": LABELS[side],
                "product": prepared[side]["product"],
                "pages": [asdict(page) for page in pages[side]],
            }
            for side in SIDES
        },
        "rounds_measured": [
            {
                **{key: result[key] for key in ("round", "order", "load_before", "load_after")},
                **{
                    side: {
                        "ceilings": [asdict(c) for c in result[side]["ceilings"]],
                        "pages": [asdict(p) for p in result[side]["pages"]],
                    }
                    for side in SIDES
                },
            }
            for result in rounds
        ],
        "medians": rows,
        "products_listed": listed,
        "goal": goal,
        "worker_peak_rss_mb": peaks,
    }
    out = out_dir(args) / "results.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"results: {out}")
    errors = [
        f"{LABELS[side]} {page.name}: {error_parts(page.errors)[0]}"
        for result in rounds
        for side in SIDES
        for page in [*result[side]["pages"], *result[side]["ceilings"]]
        if error_parts(page.errors)[0]
    ]
    if errors:
        print("ERRORS during the load: " + "; ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

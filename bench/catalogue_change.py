"""What a catalogue change costs the worker that delivers it, on the benchmark's catalogue: the kept lists
picked again (the shops' and categories' counts, the season's and the categories' first pages, the kept
searches) and the version bumped, for changes of several kinds, each against a change to everything (what
every change cost before changes named what they move) in the same process.

    .venv/bin/python bench/catalogue_change.py                      # 2,000 products
    .venv/bin/python bench/catalogue_change.py --products 100000    # the large catalogue

Run bench/storefront.py first: it generates the catalogue in var/bench/<N>-products/ (this migrates it and
keeps the most common searches there; each change is made and delivered in a transaction rolled back).
Checks its own answers: after each narrow delivery, the kept counts and picks equal what picking everything
again gives; exits non-zero if not.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class Rollback(Exception):
    pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000, help="which generated catalogue (default 2000)")
    parser.add_argument("--searches", type=int, default=10, help="common searches kept (default 10)")
    parser.add_argument("--repeat", type=int, default=5, help="deliveries measured per change (default 5)")
    parser.add_argument("--profile", help="cProfile the delivery of the change whose name contains this")
    parser.add_argument("--top", type=int, default=30, help="functions listed by --profile")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from bench.storefront import environment, parse_args

    env = environment(parse_args(["--products", str(args.products), "--cache-url", "locmemcache://"]))
    if not Path(env["DATABASE_URL"].removeprefix("sqlite:///")).exists():
        raise SystemExit(f"no catalogue of {args.products} products: run bench/storefront.py first")
    os.environ.update(env)
    warnings.filterwarnings("ignore", message=r"Using Category\.get_")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from oscar.core.loading import get_model

    from bench.catalogue import KINDS
    from marketplace.outbox.models import OutboxMessage
    from marketplace.search.models import SearchPick
    from marketplace.search.picks import search_picks_refresh
    from marketplace.search.subscribers import product_changed_deliver
    from marketplace.search.tasks import PRODUCT_CHANGED
    from marketplace.storefront.caching import CATALOGUE_CHANGED
    from marketplace.storefront.category_pick import category_picks_refresh
    from marketplace.storefront.models import CategoryPick
    from marketplace.storefront.selectors import storefront_products
    from marketplace.storefront.shop_counts import (
        category_product_counts_refresh,
        shop_product_counts_refresh,
    )
    from marketplace.storefront.subscribers import catalogue_changes_deliver
    from shops.listings import listing_price_stock_set

    Partner = get_model("partner", "Partner")
    Category = get_model("catalogue", "Category")

    call_command("migrate", verbosity=0)
    OutboxMessage.objects.filter(
        topic__in=[CATALOGUE_CHANGED, PRODUCT_CHANGED], done_at__isnull=True
    ).delete()
    settings.SEARCH_PICKS_KEPT = args.searches
    # What buyers search for: the kinds of produce, in Chinese and in English, most listed first.
    common = [name for kind in KINDS for name in (kind.zh, kind.en.split()[-1].lower())]
    client = Client()
    SearchPick.objects.all().delete()
    for text in common:
        if SearchPick.objects.count() >= args.searches:
            break
        client.get("/search/", {"q": text})
    kept = list(SearchPick.objects.values_list("text", flat=True))
    with transaction.atomic():  # the baseline every measured change starts from
        shop_product_counts_refresh()
        category_product_counts_refresh()
        category_picks_refresh()
    print(
        f"{args.products:,} products, {Partner.objects.count()} shops, "
        f"{Category.objects.count()} categories; {len(kept)} searches kept: {', '.join(kept)}"
    )

    peach = storefront_products().filter(title__contains="水蜜桃").order_by("-pk").first()
    shop = Partner.objects.filter(status=Partner.Status.APPROVED).order_by("pk").first()
    category = Category.objects.order_by("-depth", "pk").first()

    def taken_off_sale():
        peach.is_public = False
        peach.save()

    def priced():
        listing_price_stock_set(product=peach, price=peach.stockrecords.first().price + 1)

    def shop_closed():
        shop.status = Partner.Status.SUSPENDED
        shop.save(update_fields=["status"])

    def category_renamed():
        category.name += "·"
        category.save()

    changes = [
        ("a category renamed (everything)", category_renamed),
        ("a peach taken off sale", taken_off_sale),
        ("a peach's price", priced),
        (f"a shop closed ({shop.products.count():,} products)", shop_closed),
    ]

    def lists() -> dict:
        return {
            "picks": dict(CategoryPick.objects.values_list("category_id", "product_ids")),
            "searches": dict(SearchPick.objects.values_list("key", "product_ids")),
            "shops": dict(Partner.objects.values_list("pk", "public_product_count")),
            "categories": dict(Category.objects.values_list("pk", "public_product_count")),
        }

    def delivered(change, *, check: bool, profile: bool = False) -> tuple[float, int, float]:
        try:
            with transaction.atomic():
                change()
                keys = list(
                    OutboxMessage.objects.filter(topic=CATALOGUE_CHANGED, done_at__isnull=True)
                    .values_list("key", flat=True)
                    .distinct()
                )
                profiler = cProfile.Profile() if profile else None
                with CaptureQueriesContext(connection) as queries:
                    started = time.process_time()
                    if profiler:
                        profiler.runcall(catalogue_changes_deliver, keys)
                    else:
                        catalogue_changes_deliver(keys)
                    spent = time.process_time() - started
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
                # The same change's reindexes (a saved product's searches are picked again by its own).
                reindexes = OutboxMessage.objects.filter(topic=PRODUCT_CHANGED, done_at__isnull=True)
                started = time.process_time()
                for key, payload in reindexes.values_list("key", "payload"):
                    product_changed_deliver(key, payload)
                reindexed = time.process_time() - started
                if check:
                    narrow = lists()
                    shop_product_counts_refresh()
                    category_product_counts_refresh()
                    category_picks_refresh()
                    search_picks_refresh(products=storefront_products())
                    if narrow != lists():
                        raise SystemExit("the narrow delivery's lists differ from everything picked again")
                raise Rollback
        except Rollback:
            pass
        return spent, len(queries), reindexed

    rows = []
    for name, change in changes:
        delivered(change, check=True)
        if args.profile and args.profile in name:
            delivered(change, check=False, profile=True)
        runs = [delivered(change, check=False) for _ in range(args.repeat)]
        cpu = statistics.median(run[0] for run in runs) * 1000
        rows.append((name, cpu, runs[0][1], statistics.median(run[2] for run in runs) * 1000))
    everything_ms = rows[0][1]
    print()
    print(
        "| change | worker CPU, ms (median) | statements | share of a change to everything "
        "| its reindexes, ms |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, ms, statements, reindex_ms in rows:
        print(f"| {name} | {ms:,.1f} | {statements} | {ms / everything_ms:.1%} | {reindex_ms:,.1f} |")
    print("\nevery narrow delivery's counts and picks equal everything picked again")
    return 0


if __name__ == "__main__":
    sys.exit(main())

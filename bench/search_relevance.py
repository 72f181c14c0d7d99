"""Search relevance and cost (`make bench`): precision@5 and recall@20 of the storefront's search over the
buyers' queries of bench/search_relevance.yaml, judged by hand on the demo catalogue; then, on a generated
catalogue (100,000 products by default, bench/catalogue.py), each query's time as a ratio to the category
page's product list over the same catalogue (a peer measured in the same process) and its queries.

    .venv/bin/python bench/search_relevance.py                    # relevance, then the 100,000-product cost
    .venv/bin/python bench/search_relevance.py --products 0       # relevance only
    .venv/bin/python bench/search_relevance.py --show 茶 smt      # what a query finds, in order

The demo catalogue lives in var/bench/search-relevance/ (migrated and loaded on the first run, reused);
the generated one is the storefront benchmark's (var/bench/<N>-products/). The demo database is never
touched. tests/search/test_relevance.py holds the search to a floor on the same set.

Precision@5 counts the relevant products among the first five shown, out of five or out of how many
relevant products there are when fewer; recall@20 counts the relevant products among the first twenty, out
of all relevant products. A query that should find nothing scores 1 on both when it finds nothing, else 0.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SET_FILE = Path(__file__).with_name("search_relevance.yaml")
TOP_PRECISION = 5
TOP_RECALL = 20
STOREFRONT_BENCH_SHOPS = 20  # bench/storefront.py's default: the same generated catalogue is shared


@dataclass(frozen=True)
class Judgement:
    query: str
    kind: str
    categories: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    places: tuple[str, ...] = ()

    @property
    def expects_nothing(self) -> bool:
        return not (self.categories or self.titles or self.places)


@dataclass(frozen=True)
class Score:
    judgement: Judgement
    found: tuple[int, ...]  # the first TOP_RECALL products shown, in order
    relevant: frozenset[int]
    precision: float
    recall: float


def judgements_load(path: Path = SET_FILE) -> list[Judgement]:
    judged = []
    for row in yaml.safe_load(path.read_text(encoding="utf-8")):
        relevant = row["relevant"]
        if relevant == "none":
            judged.append(Judgement(query=str(row["q"]), kind=row["kind"]))
            continue
        judged.append(
            Judgement(
                query=str(row["q"]),
                kind=row["kind"],
                categories=tuple(relevant.get("categories", ())),
                titles=tuple(relevant.get("titles", ())),
                places=tuple(relevant.get("places", ())),
            )
        )
    return judged


def relevant_products(judgement: Judgement) -> frozenset[int]:
    """The storefront's products a buyer making this query wants (by the judgement's categories, titles
    and places)."""
    from django.db.models import Q
    from oscar.core.loading import get_model

    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")
    wanted = Q(pk__in=[])
    for path in judgement.categories:
        names = [name.strip() for name in path.split(">")]
        matches = [
            c
            for c in Category.objects.filter(name=names[-1])
            if [a.name for a in c.get_ancestors_and_self()] == names
        ]
        if not matches:
            raise ValueError(f"{judgement.query}: no category {path}")
        for category in matches:
            wanted |= Q(categories=category) | Q(categories__in=Category.objects.get_descendants(category))
    for title in judgement.titles:
        wanted |= Q(title__contains=title)
    for place in judgement.places:
        wanted |= Q(shop__county__name=place) | Q(shop__town__name=place) | Q(shop__village__name=place)
    return frozenset(Product.objects.storefront().filter(wanted).values_list("pk", flat=True).distinct())


def search_ids(query: str, limit: int = TOP_RECALL) -> tuple[int, ...]:
    """What the storefront's search shows for ``query``, in order (the search page's own selectors)."""
    from marketplace.search.selectors import product_search_forgiving
    from marketplace.search.tokens import parse_query
    from marketplace.storefront import selectors

    outcome = product_search_forgiving(query=parse_query(query), products=selectors.storefront_products())
    return tuple(outcome.products.values_list("pk", flat=True)[:limit])


def score(judgement: Judgement) -> Score:
    found = search_ids(judgement.query)
    relevant = frozenset() if judgement.expects_nothing else relevant_products(judgement)
    if judgement.expects_nothing:
        right = 1.0 if not found else 0.0
        return Score(judgement, found, relevant, precision=right, recall=right)
    if not relevant:
        raise ValueError(f"{judgement.query}: the judgement names no product of this catalogue")
    top = found[:TOP_PRECISION]
    precision = sum(pk in relevant for pk in top) / min(TOP_PRECISION, len(relevant))
    recall = sum(pk in relevant for pk in found[:TOP_RECALL]) / min(TOP_RECALL, len(relevant))
    return Score(judgement, found, relevant, precision=precision, recall=recall)


def scores_measure(judgements: list[Judgement] | None = None) -> list[Score]:
    return [score(j) for j in (judgements if judgements is not None else judgements_load())]


def by_kind(scores: list[Score]) -> dict[str, tuple[int, float, float]]:
    """kind → (queries, mean precision@5, mean recall@20); "all" for every query."""
    groups: dict[str, list[Score]] = defaultdict(list)
    for s in scores:
        groups[s.judgement.kind].append(s)
        groups["all"].append(s)
    return {
        kind: (
            len(group),
            statistics.mean(s.precision for s in group),
            statistics.mean(s.recall for s in group),
        )
        for kind, group in groups.items()
    }


def report(scores: list[Score]) -> str:
    lines = [f"{'queries':<14}{'n':>4}{'P@5':>8}{'R@20':>8}"]
    for kind, (n, precision, recall) in by_kind(scores).items():
        lines.append(f"{kind:<14}{n:>4}{precision:>8.2f}{recall:>8.2f}")
    misses = [s for s in scores if s.precision < 1 or s.recall < 1]
    if misses:
        lines.append("")
        lines.append("below 1.00:")
        lines += [f"  {s.judgement.query:<16} P@5 {s.precision:.2f}  R@20 {s.recall:.2f}" for s in misses]
    return "\n".join(lines)


# --- where the script runs --------------------------------------------------------------------------


def _setup(var_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_ENV": "development",
            "DJANGO_DEBUG": "false",
            "VAR_DIR": str(var_dir),
            "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(var_dir / "media"),
            "CACHE_URL": "locmemcache://search-relevance",
        }
    )
    var_dir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def demo_catalogue_ensure() -> None:
    from django.core.management import call_command
    from oscar.core.loading import get_model

    from fixtures.loader import demo_load
    from marketplace.search.indexing import products_index

    call_command("migrate", verbosity=0, interactive=False)
    if not get_model("catalogue", "Product").objects.exists():
        print("loading the demo catalogue (first run)")
        demo_load()
    products_index()  # the index as this version of the analyzer writes it


def cost_measure(products: int, judgements: list[Judgement], rounds: int) -> None:
    """Each query's time and queries on the generated catalogue, as a ratio to the category page's list."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from oscar.core.loading import get_model

    from bench import catalogue
    from marketplace.search.indexing import products_index
    from marketplace.storefront import selectors

    if catalogue.catalogue_ensure(products=products, shops=STOREFRONT_BENCH_SHOPS):
        print("generated")
    print(f"reindexing {products:,} products with this analyzer …")
    started = time.perf_counter()
    products_index()
    print(f"  {time.perf_counter() - started:.0f} s")
    category = get_model("catalogue", "Category").objects.filter(depth=1).first()

    def peer() -> None:
        list(selectors.category_products(category=category).values_list("pk", flat=True)[:TOP_RECALL])

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        return best

    per_kind: dict[str, list[float]] = defaultdict(list)
    worst: list[tuple[float, str, int]] = []
    for judgement in judgements:
        peer_time = timed(peer)
        with CaptureQueriesContext(connection) as queries:
            search_ids(judgement.query)
        ratio = timed(lambda j=judgement: search_ids(j.query)) / peer_time
        per_kind[judgement.kind].append(ratio)
        worst.append((ratio, judgement.query, len(queries.captured_queries)))
    print(f"\nsearch time / category list time, {products:,} products (best of {rounds}):")
    for kind, ratios in per_kind.items():
        print(f"  {kind:<14} median {statistics.median(ratios):6.2f}×  max {max(ratios):6.2f}×")
    print("slowest:")
    for ratio, query, count in sorted(worst, reverse=True)[:8]:
        print(f"  {query:<16} {ratio:6.2f}×  {count} queries")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--products", type=int, default=100_000, help="generated catalogue for the cost (0: none)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--show", nargs="*", help="print what these queries find, in order")
    parser.add_argument("--cost-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    judgements = judgements_load()
    if args.cost_only:
        # Its own process: Django is set up once per process, on one database.
        _setup((REPO / "var" / "bench" / f"{args.products}-products").resolve())
        cost_measure(args.products, judgements, args.rounds)
        return 0
    _setup((REPO / "var" / "bench" / "search-relevance").resolve())
    demo_catalogue_ensure()
    if args.show:
        from oscar.core.loading import get_model

        titles = dict(get_model("catalogue", "Product").objects.values_list("pk", "title"))
        for query in args.show:
            print(query)
            for pk in search_ids(query):
                print(f"  {titles[pk]}")
        return 0
    scores = scores_measure(judgements)
    print(f"search relevance, demo catalogue, {len(judgements)} queries")
    print(report(scores))
    if args.products:
        command = [sys.executable, __file__, "--cost-only", "--products", str(args.products)]
        return subprocess.run([*command, "--rounds", str(args.rounds)], check=False).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())

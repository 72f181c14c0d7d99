"""Where one storefront page spends its time, in-process on the benchmark's catalogue: its SQL queries
(count and time) and a cProfile of repeated requests, with the same settings gunicorn gets.

    .venv/bin/python bench/profile_page.py /search/?q=peach
    .venv/bin/python bench/profile_page.py / --products 100000 --requests 50 --top 40

Run bench/storefront.py first: it generates the catalogue in var/bench/<N>-products/ (this only reads it).
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def print_queries(captured: list[dict], *, every: bool) -> None:
    if every:
        same: dict[str, list[float]] = {}
        for query in captured:
            same.setdefault(query["sql"], []).append(float(query["time"]) * 1000)
        for sql, times in sorted(same.items(), key=lambda item: -sum(item[1])):
            print(f"  {len(times):3} × {sum(times):7.1f} ms  {sql[:600]}")
    else:
        shapes = Counter(q["sql"].split(" WHERE ")[0][:120] for q in captured)
        for shape, n in shapes.most_common(8):
            print(f"  {n:3} × {shape}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="URL path with its query string, as bench/storefront.py prints it")
    parser.add_argument("--products", type=int, default=2000, help="which generated catalogue (default 2000)")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--top", type=int, default=30, help="functions listed")
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--queries", action="store_true", help="print every SQL query of one request")
    parser.add_argument("--dump", help="also write the cProfile statistics to this file (pstats)")
    parser.add_argument("--cold", action="store_true", help="fragment and page caches off (from scratch)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from bench.storefront import environment, parse_args

    os.environ.update(environment(parse_args(["--products", str(args.products)])))
    if args.cold:
        os.environ["STOREFRONT_CACHE_SECONDS"] = "0"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from oscar.core.loading import get_model

    count = get_model("catalogue", "Product").objects.count()
    if count != args.products:
        raise SystemExit(
            f"var/bench holds {count:,} products; run bench/storefront.py --products {args.products}"
        )

    client = Client()

    def get(path: str):
        # A cookieless visitor, as wrk is: the test client would send back what the last response set.
        client.cookies.clear()
        return client.get(path)

    for _ in range(3):  # template compilation, thumbnails, caches
        response = get(args.path)
    if response.status_code != 200:
        raise SystemExit(f"{args.path} answered {response.status_code}")

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        get(args.path)
        elapsed = time.perf_counter() - started
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    print(f"{args.path}: {len(queries)} queries, {sql_ms:.1f} ms in SQL, {elapsed * 1000:.1f} ms in all")
    print_queries(queries.captured_queries, every=args.queries)

    # CPU time rather than wall-clock: other processes on the machine slow the wall clock, not this.
    cpu = {}
    for path in (args.path, "/bench/ceiling/"):
        started = time.process_time()
        for _ in range(args.requests):
            get(path)
        cpu[path] = (time.process_time() - started) / args.requests * 1000
    print(
        f"\nCPU per request: {cpu[args.path]:.2f} ms; ceiling {cpu['/bench/ceiling/']:.2f} ms "
        f"({cpu['/bench/ceiling/'] / cpu[args.path] * 100:.1f} % of the ceiling's rate, in-process)"
    )
    if not args.top:
        return 0

    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(args.requests):
        get(args.path)
    profile.disable()
    per_request = (time.perf_counter() - started) / args.requests * 1000
    print(
        f"\n{args.requests} requests under cProfile: {per_request:.1f} ms each (profiler overhead included)"
    )
    if args.dump:
        profile.dump_stats(args.dump)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())

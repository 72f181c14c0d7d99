"""`make bench-sales` builds its world with PostgreSQL's own SQL through the product's settings (parameters
bound by the server, statements prepared): a change of those settings once broke the benchmark unseen (a
temporary table and an insert sent as one parameterised statement; a bound parameter in `COMMENT ON`).
Here the benchmark builds a small world in its own database, checks the review against the orders, times
each page twice and must exit 0; it fails on a page that does not answer 200, facts that disagree with the
orders or a page whose query count is not its budget."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlunparse

from django.db import connection

from bench.sales_review import PAGE_QUERY_BUDGET, VAR_DIR
from tests.postgres import postgresql_only

REPO = Path(__file__).resolve().parents[3]
LINES = 3_001  # a size no one benchmarks, so the test never drops a database someone keeps


def test_the_sales_benchmark_builds_checks_and_times_a_small_world():
    postgresql_only("the benchmark writes its world with PostgreSQL's SQL", "the sales benchmark's test")
    settings = connection.settings_dict
    base = urlunparse(
        (
            "postgresql",
            f"{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}",
            "/marketplace_bench_sales_test",
            "",
            "",
            "",
        )
    )
    results = VAR_DIR / f"results-{LINES}.json"
    results.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    finished = subprocess.run(  # noqa: S603  (this interpreter, the repository's own script)
        [
            sys.executable,
            "bench/sales_review.py",
            "--lines",
            str(LINES),
            "--shops",
            "12",
            "--days",
            "90",
            "--requests",
            "2",
            "--warmup",
            "0",
            "--no-baseline",
            "--database-url",
            base,
        ],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, (finished.stdout + finished.stderr)[-4000:]
    result = json.loads(results.read_text())
    assert result["facts_check"]["agree"] is True
    assert [whole["agree"] for whole in result["long_range_checks"]] == [True, True]
    assert len(result["months"]) >= 5
    assert all(month["page"]["queries"] == PAGE_QUERY_BUDGET for month in result["months"]), result["months"]

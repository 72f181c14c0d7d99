"""A real Celery worker on the machine's Redis keeps the search index current.

Run by .ci/run against PostgreSQL (a worker in another process cannot see an in-memory SQLite test
database); `make test` leaves it out. With REQUIRE_CELERY_WORKER=1 a missing broker fails instead of
skipping, so CI cannot pass without having run it.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from marketplace.search.models import SearchToken
from tests.factories import ProductFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the worker test needs DATABASE_URL pointing at PostgreSQL")
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    if settings.CELERY_BROKER_URL.startswith("memory:") or settings.CELERY_TASK_ALWAYS_EAGER:
        message = "needs CELERY_BROKER_URL (a real broker) and non-eager tasks"
        if os.environ.get("REQUIRE_CELERY_WORKER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
    }
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--pool",
            "solo",
            "--queues",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(condition, *, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_worker_indexes_a_new_product_and_follows_a_rename(worker):
    product = ProductFactory(title="高山土蜂蜜", title_en="Mountain honey")

    def has(token: str) -> bool:
        return SearchToken.objects.filter(product=product, token=token).exists()

    indexed = wait_for(lambda: has("蜂蜜"))
    if not indexed:
        worker.terminate()
        pytest.fail("the worker did not index the product:\n" + worker.communicate(timeout=20)[0])

    product.title = "高山百花蜜"
    product.save()
    assert wait_for(lambda: has("百花") and not has("蜂蜜")), "the rename was not reindexed"

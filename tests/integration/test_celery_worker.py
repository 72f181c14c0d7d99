"""A real Celery worker on the machine's Redis, fed by the outbox relay, keeps the search index current
and sends each order notice once.

Run by .ci/run against PostgreSQL (a worker in another process cannot see an in-memory SQLite test
database); `make test` leaves it out. With REQUIRE_CELERY_WORKER=1 a missing broker fails instead of
skipping, so CI cannot pass without having run it.
"""

import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from marketplace.order.shop_orders import ORDER_PAID, shop_orders_create
from marketplace.outbox.services import outbox_emit
from marketplace.search.models import SearchToken
from tests.factories import ProductFactory, ShopFactory

ROOT = Path(__file__).resolve().parents[2]
Basket = get_model("basket", "Basket")

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the worker test needs DATABASE_URL pointing at PostgreSQL")
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


def _service_run(*, name: str, argv: list[str], ready: str, extra_env: dict[str, str] | None):
    """A process of ours (a worker, the relay) on the test's broker and database, started and waited for
    until its log says ``ready``; stopped when the generator is closed (``yield from`` in a fixture)."""
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
        **(extra_env or {}),
    }
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Read the log as it comes: an unread pipe fills up and blocks the process mid-task.
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
    if not wait_for(lambda: any(ready in line for line in output), timeout=60):
        process.kill()
        pytest.fail(f"the {name} did not start:\n" + "".join(output))
    process.output = output
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def worker_run(*, pool: str, extra_env: dict[str, str]):
    """A Celery worker (``pool`` solo or prefork, one process) on the test's broker and database."""
    pool_args = ["--pool", pool] + (["--concurrency", "1"] if pool == "prefork" else [])
    argv = ["-m", "celery", "-A", "marketplace", "worker", *pool_args]
    argv += ["--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--loglevel", "INFO"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    yield from _service_run(name="Celery worker", argv=argv, ready=" ready.", extra_env=extra_env)


def relay_run(*, extra_env: dict[str, str] | None = None):
    """The outbox relay (``manage.py outbox_relay``) on the test's broker and database."""
    argv = ["manage.py", "outbox_relay", "--interval", "0.2"]
    yield from _service_run(name="outbox relay", argv=argv, ready="outbox relay ready", extra_env=extra_env)


@pytest.fixture
def relay():
    yield from relay_run()


@pytest.fixture
def worker(mail_dir, relay):
    yield from worker_run(
        pool="solo",
        extra_env={
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    )


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
        pytest.fail("the worker did not index the product:\n" + "".join(worker.output))

    product.title = "高山百花蜜"
    product.save()
    assert wait_for(lambda: has("百花") and not has("蜂蜜")), "the rename was not reindexed"


def test_order_notices_are_sent_once_after_commit_and_never_for_a_rolled_back_order(worker, mail_dir):
    shop = ShopFactory(name="桃源果园")
    shop.users.add(get_user_model().objects.create_user("farmer", "farmer@example.cn", "pw"))
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(ProductFactory(title="阳山水蜜桃", shop=shop, stock=(Decimal("168.00"), 5)), 1)
    order = create_order(basket=basket, guest_email="buyer@example.cn")
    shop_orders_create(order=order)

    class RolledBack(Exception):
        pass

    paid = {"order_id": order.pk, "shop_order_ids": [], "shop_ids": [shop.pk], "day": "2026-12-02"}

    def emit_then_fail() -> None:
        with transaction.atomic():
            outbox_emit(topic=ORDER_PAID, key=f"rolled-back-{order.pk}", payload=paid)
            raise RolledBack

    with pytest.raises(RolledBack):
        emit_then_fail()
    for _ in range(3):  # the buyer's return, the webhook, a retry
        with transaction.atomic():
            outbox_emit(topic=ORDER_PAID, key=str(order.pk), payload=paid)

    def sent() -> list[str]:
        return [p.read_text() for p in mail_dir.iterdir()]

    assert wait_for(lambda: len(sent()) >= 2), "the worker sent no mail:\n" + "".join(worker.output)
    time.sleep(3)  # give duplicates every chance to arrive
    mails = sent()
    assert len(mails) == 2, mails
    assert sum("To: buyer@example.cn" in m for m in mails) == 1
    assert sum("To: farmer@example.cn" in m for m in mails) == 1


def database_sessions() -> int:
    """Sessions ever opened on the test database (PostgreSQL's statistics; a session that ended has
    reported itself)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_the_worker_keeps_its_database_connection_from_task_to_task(worker):
    """Celery's Django fixup closes the connection around every task unless told otherwise: each outbox
    delivery then started a PostgreSQL backend of its own (docs/performance.md, "Checkout under load")."""
    first = ProductFactory(title="遂昌菊米", title_en="Suichang chrysanthemum rice")
    assert wait_for(lambda: SearchToken.objects.filter(product=first).exists()), "".join(worker.output)
    time.sleep(1.5)
    before = database_sessions()
    products = [ProductFactory(title=f"高山云雾茶 {n}号", title_en=f"Cloud tea {n}") for n in range(12)]

    def all_indexed() -> bool:
        return SearchToken.objects.filter(product__in=products).values("product").distinct().count() == 12

    assert wait_for(all_indexed), "the worker did not index them:\n" + "".join(worker.output)
    time.sleep(1.5)  # a backend that ended has flushed its statistics by now
    opened = database_sessions() - before
    # 12 deliveries or more ran; the worker and the relay keep theirs (one more if one was replaced).
    assert opened <= 2, f"{opened} sessions opened for 12 deliveries"

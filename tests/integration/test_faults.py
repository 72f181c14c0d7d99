"""Faults on real processes: the paid-order flow survives a broker outage, a cache outage and worker
processes killed mid-delivery, and every follow-up still happens exactly once.

Each test starts its own Redis (broker, and cache where asked) on a free loopback port, without
persistence, and stops and starts it itself; the Celery worker and the outbox relay run as processes on
that Redis and the test's PostgreSQL database. The web side is pytest-django's threaded live server in
this process (``OUTBOX_DELIVER_ON_COMMIT`` off: the web only writes outbox rows, never talks to the
broker), paying through a real localstripe whose webhook is registered to the live server. Mail is
written by the worker to files, one per message.

Run by .ci/run with the other ``celery_worker`` tests against PostgreSQL; with REQUIRE_CELERY_WORKER=1 a
missing PostgreSQL or redis-server fails instead of skipping.
"""

import contextlib
import email
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from PIL import Image
from redis.backoff import NoBackoff
from redis.retry import Retry

from devtools.stack import free_port
from logistics.models import Consignment, Leg, PartnerDayLoad
from marketplace.cache import ForgivingRedisCache
from marketplace.checkout.services import checkout_place
from marketplace.order.models import ShopOrder
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import subscriber_named
from marketplace.payments.models import Payment, StripeEvent
from marketplace.payments.services import payment_attempt
from marketplace.search.indexing import products_index
from shops.sales.facts import sales_facts_rebuild
from shops.sales.models import BuyerSalesDay, CategorySalesDay, ProductSalesDay, SalesDay
from tests.checkout.conftest import ADDRESS
from tests.factories import ProductFactory, category
from tests.integration.test_celery_worker import database_url, wait_for
from tests.integration.test_routing_worker import pool_children
from tests.logistics.conftest import SHANGHAI, demo_logistics, shop_in  # noqa: F401  (shared fixture)
from tests.payments.conftest import card_from_browser, localstripe, stripe_settings  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
Basket = get_model("basket", "Basket")
Order = get_model("order", "Order")
Partner = get_model("partner", "Partner")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductImage = get_model("catalogue", "ProductImage")

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

GOOD_CARD = "4242424242424242"
WEBHOOK = "faults"  # localstripe's name for the webhook these tests register (one per localstripe)
WORKER_DB_NAME = "fault-worker"  # application_name of the worker's database sessions
FACT_MODELS = (SalesDay, ProductSalesDay, CategorySalesDay, BuyerSalesDay)


def needs(condition: bool, message: str) -> None:
    if condition:
        return
    if os.environ.get("REQUIRE_CELERY_WORKER") == "1":
        pytest.fail(message)
    pytest.skip(message)


# --- Processes ----------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own on a free loopback port. Nothing is persisted: a stopped and
    started server has lost what it held, as a broker restarted without persistence has."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server") or ""
        needs(bool(self.binary), "needs redis-server (apt-get install redis-server)")
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def url(self, scheme: str = "redis") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        # One try: redis-py's default retries with back-off would take seconds to say "down".
        return redis.Redis(port=self.port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def keys(self) -> int:
        return self.client().dbsize()

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        if not wait_for(self.answers, timeout=10):
            self.process.kill()
            pytest.fail(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        assert not self.answers(), f"redis-server on port {self.port} still answers"


@dataclass
class Service:
    """A process of the stack (worker, relay) whose output is read as it comes (an unread pipe fills up
    and blocks the process) and kept for failure messages."""

    name: str
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str]) -> "Service":
        process = subprocess.Popen(  # noqa: S603
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        service = cls(name=name, process=process)
        threading.Thread(target=lambda: service.output.extend(process.stdout), daemon=True).start()
        return service

    def log(self, lines: int = 120) -> str:
        return f"\n----- {self.name} (last {lines} lines) -----\n" + "".join(self.output[-lines:])

    def wait_ready(self, marker: str) -> None:
        if not wait_for(lambda: any(marker in line for line in self.output), timeout=60):
            self.process.kill()
            pytest.fail(f"the {self.name} did not start:" + self.log())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Stack:
    """The worker and the relay of one test, on the test's broker and database."""

    worker: Service
    relay: Service

    def logs(self) -> str:
        return self.worker.log() + self.relay.log()


@contextlib.contextmanager
def stack_run(*, broker: RedisServer, env: dict[str, str], pool: str = "solo", concurrency: int = 1):
    """Start a Celery worker (``pool``, ``concurrency`` processes) and the outbox relay side by side, wait
    until both are ready, and stop both at the end."""
    base = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker.url(),
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OUTBOX_DELIVER_ON_COMMIT": "0",
        **env,
    }
    worker = Service.start(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--queues",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        # Named sessions: the test can tell the worker's transactions from everyone else's.
        {**base, "DATABASE_URL": f"{database_url()}?application_name={WORKER_DB_NAME}"},
    )
    relay = Service.start("relay", [sys.executable, "manage.py", "outbox_relay", "--interval", "0.2"], base)
    try:
        worker.wait_ready(" ready.")
        relay.wait_ready("outbox relay ready")
        yield Stack(worker=worker, relay=relay)
    finally:
        relay.stop()
        worker.stop()


def worker_env(*, mail_dir: Path, stripe_base: str) -> dict[str, str]:
    """What the worker's subscribers need: mail to files, and the same (local) Stripe as the web."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "STRIPE_API_BASE": stripe_base,
        "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
    }


# --- The web side -------------------------------------------------------------------------------


@pytest.fixture
def needs_postgresql():
    needs(
        connection.vendor == "postgresql",
        "the fault tests need DATABASE_URL pointing at PostgreSQL (the worker is another process)",
    )


@pytest.fixture
def broker(needs_postgresql, tmp_path, settings):
    server = RedisServer(tmp_path)
    server.start()
    settings.CELERY_BROKER_URL = server.url()
    yield server
    server.stop()


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def web(live_server, stripe_settings, localstripe) -> str:  # noqa: F811
    """The live server as the shop's web process: it writes outbox rows and leaves them to the relay,
    and receives localstripe's signed webhooks."""
    stripe_settings.OUTBOX_DELIVER_ON_COMMIT = False
    register = f"{localstripe}/_config/webhooks/{WEBHOOK}"
    webhook = f"{live_server.url}{reverse('payments:stripe-webhook')}"
    secret = stripe_settings.STRIPE_WEBHOOK_SECRET
    requests.post(register, data={"url": webhook, "secret": secret}, timeout=10).raise_for_status()
    yield live_server.url
    # localstripe lives for the session: leave later tests' events to their own webhooks (port 9 discards).
    requests.post(register, data={"url": "http://127.0.0.1:9/", "secret": secret}, timeout=10)


def farmer_add(shop, email_address: str) -> None:
    shop.users.add(
        get_user_model().objects.create_user(email_address.split("@", maxsplit=1)[0], email_address, "pw")
    )


@dataclass
class Market:
    """Two shops (peaches from a Yangshan village, tea from a Suichang one), each with a farmer to notify."""

    peaches: object
    tea: object


@pytest.fixture
def market(demo_logistics) -> Market:  # noqa: F811
    peach_shop = shop_in("江苏省 无锡市 惠山区 阳山镇 桃源村", name="桃源果园")
    tea_shop = shop_in("浙江省 丽水市 遂昌县 大柘镇 大田村", name="大田茶园")
    peaches = ProductFactory(
        title="阳山水蜜桃 6只装",
        shop=peach_shop,
        perishable=True,
        net_weight_g=2500,
        stock=(Decimal("168"), 500),
    )
    tea = ProductFactory(
        title="龙谷丽人茶", shop=tea_shop, perishable=False, net_weight_g=250, stock=(Decimal("98"), 500)
    )
    farmer_add(peach_shop, "peach-farmer@example.cn")
    farmer_add(tea_shop, "tea-farmer@example.cn")
    return Market(peaches=peaches, tea=tea)


@dataclass
class Visit:
    """One buyer's pages, in order: (method, url, status) of every response, redirects included, and the
    page the visit ended on."""

    responses: list[tuple[str, str, int]] = field(default_factory=list)
    final_url: str = ""
    final_status: int = 0
    final_text: str = ""

    def record(self, response: requests.Response) -> None:
        for r in [*response.history, response]:
            self.responses.append((r.request.method, r.url, r.status_code))
        self.final_url, self.final_status, self.final_text = response.url, response.status_code, response.text
        # Let go of the socket: the live server keeps a request thread (and its database session) for as
        # long as a kept-alive connection is open.
        response.close()

    def server_errors(self) -> list[tuple[str, str, int]]:
        return [r for r in self.responses if r[2] >= 500]

    def reached_thank_you(self) -> bool:
        number = self.final_url.rstrip("/").split("/")[-2] if "/thank-you/" in self.final_url else None
        return self.final_status == 200 and number is not None and number in self.final_text


def checkout_by_card(
    *, base: str, stripe_base: str, product_urls: list[str], add_urls: list[str], buyer: str
) -> Visit:
    """A guest buyer's visit over HTTP: product page, each product into the basket, the checkout page,
    the card made by Stripe.js (localstripe), the checkout posted; ends on whatever page it lands."""
    visit = Visit()
    with requests.Session() as browser:
        visit.record(browser.get(base + product_urls[0], timeout=30))
        for add_url in add_urls:
            token = browser.cookies.get("csrftoken", "")
            visit.record(
                browser.post(base + add_url, data={"quantity": 1, "csrfmiddlewaretoken": token}, timeout=30)
            )
        visit.record(browser.get(base + reverse("checkout:index"), timeout=30))
        card = card_from_browser(stripe_base, GOOD_CARD)
        form = {
            **ADDRESS,
            "email": buyer,
            "pay_with": "card",
            "payment_method": card,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
        }
        visit.record(browser.post(base + reverse("checkout:index"), data=form, timeout=60))
    return visit


# --- What the tests check -----------------------------------------------------------------------


def mails(mail_dir: Path) -> list[email.message.Message]:
    """Every message the worker wrote (the file backend writes one file per connection, messages
    separated by a line of dashes)."""
    found = []
    for path in sorted(mail_dir.iterdir()):
        for chunk in path.read_text(encoding="utf-8").split("-" * 79):
            if chunk.strip():
                found.append(email.message_from_string(chunk.strip()))
    return found


def mails_to(mail_dir: Path) -> Counter:
    return Counter(message["To"] for message in mails(mail_dir))


def notices_to(mail_dir: Path) -> dict[str, set[str]]:
    """Recipient → the Message-IDs (one per notice, the same for every copy of it) they were sent."""
    by_recipient: dict[str, set[str]] = {}
    for message in mails(mail_dir):
        by_recipient.setdefault(message["To"], set()).add(message["Message-ID"])
    return by_recipient


def expected_notices(orders: list) -> Counter:
    """One confirmation per buyer's order, one new-order notice per shop order to its shop's farmer."""
    expected = Counter(order.guest_email for order in orders)
    for shop_order in ShopOrder.objects.filter(order__in=orders).prefetch_related("shop__users"):
        for user in shop_order.shop.users.all():
            expected[user.email] += 1
    return expected


def facts_rows() -> dict[str, Counter]:
    """Every row of the sales facts tables, without their ids."""
    rows = {}
    for model in FACT_MODELS:
        fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        rows[model.__name__] = Counter(model.objects.values_list(*fields))
    return rows


def assert_facts_equal_a_rebuild(shop_orders: int) -> None:
    kept = facts_rows()
    assert sum(SalesDay.objects.values_list("sales", flat=True)) == shop_orders, kept["SalesDay"]
    sales_facts_rebuild()
    assert facts_rows() == kept


def routed_once(shop_orders: int) -> bool:
    return (
        ShopOrder.objects.count() == shop_orders
        and Consignment.objects.filter(status=Consignment.Status.ROUTED).count() == shop_orders
    )


def assert_every_shop_order_routed_once(shop_orders: int) -> None:
    consignments = list(Consignment.objects.all())
    assert len(consignments) == shop_orders
    assert {c.status for c in consignments} == {Consignment.Status.ROUTED}
    assert set(ShopOrder.objects.values_list("pk", flat=True)) == {c.shop_order_id for c in consignments}
    # Routed once: one "routed" decision each, and capacity booked once per leg (a second routing of
    # the same parcel would have booked again).
    assert all([d["outcome"] for d in c.decisions] == ["routed"] for c in consignments), [
        c.decisions for c in consignments
    ]
    assert Leg.objects.count() >= 2 * shop_orders
    assert sum(PartnerDayLoad.objects.values_list("booked", flat=True)) == Leg.objects.count()


def together(handler: str) -> bool:
    """Whether the subscriber ``handler`` runs many events at once (and so claims rows waiting)."""
    subscriber = subscriber_named(handler)
    assert subscriber is not None, f"no subscriber {handler!r}"
    return subscriber.run_many is not None


def outbox_done() -> bool:
    return not OutboxMessage.objects.filter(done_at__isnull=True).exists()


def events_processed(expected: int) -> bool:
    return (
        StripeEvent.objects.count() == expected
        and not StripeEvent.objects.filter(processed_at__isnull=True).exists()
    )


def state() -> str:
    """What is still to do, for failure messages."""
    waiting = OutboxMessage.objects.filter(done_at__isnull=True).order_by("pk")
    lines = [
        f"outbox rows not done: {waiting.count()}",
        *(
            f"  {m.handler} {m.key} published {m.publish_count}x failures {m.failures} {m.last_error[:200]}"
            for m in waiting[:15]
        ),
        f"consignments: {Counter(Consignment.objects.values_list('status', flat=True))}"
        f" of {ShopOrder.objects.count()} shop orders",
        f"stripe events: {StripeEvent.objects.count()},"
        f" unprocessed {StripeEvent.objects.filter(processed_at__isnull=True).count()}",
    ]
    return "\n".join(lines)


def worker_sessions_waiting_on_a_lock() -> set[int]:
    """The worker's database sessions (backend pids) waiting on a row lock now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the view is frozen for the transaction
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
            [WORKER_DB_NAME],
        )
        return {pid for (pid,) in cursor.fetchall()}


def worker_in_a_transaction() -> bool:
    """Whether one of the worker's processes is inside a transaction now (a subscriber mid-run)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL"
            " AND state IN ('active', 'idle in transaction')",
            [WORKER_DB_NAME],
        )
        return cursor.fetchone()[0] > 0


def kill_pool(worker: Service) -> list[int]:
    """SIGKILL every process of the worker's pool (the worker's main process forks new ones)."""
    children = pool_children(worker.process)
    assert children, "the worker has no pool processes" + worker.log()
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return children


def pool_replaced(worker: Service, killed: list[int]) -> bool:
    children = pool_children(worker.process)
    return len(children) == len(killed) and not set(children) & set(killed)


@contextlib.contextmanager
def shop_row_held(shop_id: int):
    """Hold a shop's row FOR NO KEY UPDATE from another connection, as long as the block runs: the sales
    facts refresh takes the same lock first, so its deliveries wait in the worker (checkout and payment
    only take key-share locks on the shop and go on)."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(Partner.objects.select_for_update(no_key=True).filter(pk=shop_id).values_list("pk"))
                locked.set()
                release.wait(timeout=120)
        finally:
            connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(timeout=10), "could not lock the shop's row"
    try:
        yield
    finally:
        release.set()
        holder.join(timeout=30)


# --- The tests ----------------------------------------------------------------------------------


def test_a_broker_outage_during_checkouts_loses_nothing_and_duplicates_nothing(
    web,
    broker,
    market,
    mail_dir,
    localstripe,  # noqa: F811
):
    """10 buyers pay while the broker is stopped for 30 s: every one lands on the thank-you page, and
    within 30 s of the broker's return every follow-up has happened once."""
    # Given a worker and the relay on the test's broker (the default redelivery delay, 120 s). A message
    # the broker held when it stopped is lost with it (no persistence): the relay, having seen the broker
    # down, publishes every unfinished row again as soon as it is back.
    env = worker_env(mail_dir=mail_dir, stripe_base=localstripe)
    product_urls = [market.peaches.get_absolute_url(), market.tea.get_absolute_url()]
    add_urls = [reverse("basket:add", kwargs={"pk": p.pk}) for p in (market.peaches, market.tea)]
    buyers = [f"buyer{i}@example.cn" for i in range(10)]

    with stack_run(broker=broker, env=env) as stack:
        outage = threading.Event()

        def shop(i: int) -> Visit:
            # Three buyers before the outage (the last ones still paying as it starts), seven during it.
            if i < 3:
                time.sleep(0.5 * i)
            else:
                outage.wait(timeout=120)
                time.sleep(0.3 * (i - 3))
            return checkout_by_card(
                base=web,
                stripe_base=localstripe,
                product_urls=product_urls,
                add_urls=add_urls,
                buyer=buyers[i],
            )

        # When the broker stops while the buyers check out, and comes back 30 s later
        with ThreadPoolExecutor(max_workers=len(buyers)) as pool:
            visits = [pool.submit(shop, i) for i in range(len(buyers))]
            assert wait_for(visits[0].done, timeout=60), "the first buyer did not get through"
            broker.stop()
            stopped, stopped_at = time.monotonic(), timezone.now()
            outage.set()
            visits = [v.result(timeout=120) for v in visits]
        time.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
        written_meanwhile = list(OutboxMessage.objects.filter(created_at__gte=stopped_at))
        events_meanwhile = list(StripeEvent.objects.filter(received_at__gte=stopped_at))
        broker.start()
        restarted = time.monotonic()

        # Then every buyer saw the thank-you page, none an error
        assert [v.server_errors() for v in visits] == [[]] * len(buyers)
        assert all(v.reached_thank_you() for v in visits), [v.responses[-3:] for v in visits]
        orders = list(Order.objects.all())
        assert sorted(o.guest_email for o in orders) == sorted(buyers)
        assert Payment.objects.filter(status=Payment.Status.SUCCEEDED).count() == len(buyers)
        # … the outage was real: buyers paid during it, and their follow-ups (and the webhook events
        # Stripe sent meanwhile) were recorded and waited for the broker
        assert Payment.objects.filter(paid_at__gte=stopped_at).count() >= len(buyers) - 3
        assert written_meanwhile, "no outbox row was written during the outage"
        # Nothing was published meanwhile. A worker still on a task it took before the stop may deliver, with
        # its own rows, waiting rows of the same subscriber written since (a subscriber that runs many events
        # at once claims them under that task's id): those are done, claimed and of such a subscriber; every
        # other row waited. The buyers paying late in the outage leave rows waiting.
        done_meanwhile = [m for m in written_meanwhile if m.done_at is not None]
        assert [m for m in done_meanwhile if not (m.claimed_by and together(m.handler))] == []
        assert [m for m in written_meanwhile if m.done_at is None and m.publish_count == 0]
        assert events_meanwhile, "no webhook event arrived during the outage"
        # An event with work to do waits for the broker with its outbox row; one with nothing to do (a
        # "succeeded" for a payment the buyer's own request recorded) is stored processed, with no row.
        waiting = {m.key for m in written_meanwhile if m.topic == "stripe.event"}
        assert [(e.event_id, e.processed_at is None) for e in events_meanwhile] == [
            (e.event_id, e.event_id in waiting) for e in events_meanwhile
        ]

        # … and within 30 s of the broker's return, every follow-up happened
        expected = expected_notices(orders)
        shop_orders = 2 * len(buyers)

        def all_done() -> bool:
            return (
                routed_once(shop_orders)
                and events_processed(len(buyers))
                and mails_to(mail_dir) == expected
                and outbox_done()
            )

        assert wait_for(all_done, timeout=30 - (time.monotonic() - restarted)), (
            f"not caught up 30 s after the broker came back:\n{state()}\nmail: {mails_to(mail_dir)}"
            f"\nexpected: {expected}" + stack.logs()
        )
        time.sleep(2)  # give a duplicate every chance to arrive

    assert mails_to(mail_dir) == expected  # one confirmation per buyer, one notice per shop order
    assert len({m["Message-ID"] for m in mails(mail_dir)}) == sum(expected.values())
    assert_every_shop_order_routed_once(shop_orders)
    assert events_processed(len(buyers))
    assert outbox_done()
    assert_facts_equal_a_rebuild(shop_orders)


@pytest.fixture
def tiny_jpeg() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (32, 32), (240, 150, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile("peach.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_a_cache_outage_slows_pages_but_breaks_neither_pages_nor_checkout(
    web,
    broker,
    market,
    mail_dir,
    localstripe,  # noqa: F811
    settings,
    tmp_path,
    tiny_jpeg,
    caplog,
    monkeypatch,
):
    """The cache's Redis stops: storefront pages are rendered from the database, as fast, and a buyer
    pays and lands on the thank-you page; when it is back, pages are cached again."""
    # Given the storefront on its own Redis cache (the web's, the worker's and the relay's)
    cache_server = RedisServer(tmp_path)
    cache_server.start()
    settings.CACHES = {
        "default": {"BACKEND": "marketplace.cache.ForgivingRedisCache", "LOCATION": cache_server.url()}
    }
    fruit = category("鲜果", "Fresh fruit")
    ProductCategory.objects.create(product=market.peaches, category=fruit)
    ProductImage.objects.create(product=market.peaches, original=tiny_jpeg, display_order=0)
    products_index()
    pages = {
        "home": "/",
        "category": fruit.get_absolute_url(),
        "product": market.peaches.get_absolute_url(),
        "shop": market.peaches.shop.get_absolute_url(),
        "basket": reverse("basket:summary"),
        "search": reverse("search:search") + "?q=水蜜桃",
    }
    env = {
        **worker_env(mail_dir=mail_dir, stripe_base=localstripe),
        "CACHE_URL": cache_server.url("rediscache"),
    }

    showing_peaches = {"category", "product", "shop", "search"}

    def visit_pages() -> dict[str, tuple[int, float, bool]]:
        """Each page's status, how long it took, and whether it shows the peaches it should."""
        answers = {}
        with requests.Session() as browser:
            for name, url in pages.items():
                started = time.monotonic()
                response = browser.get(web + url, timeout=30)
                answers[name] = (
                    response.status_code,
                    time.monotonic() - started,
                    "阳山水蜜桃" in response.text,
                )
                response.close()
        return answers

    def assert_answered(answers: dict[str, tuple[int, float, bool]]) -> None:
        assert {name: status for name, (status, _, _) in answers.items()} == dict.fromkeys(pages, 200)
        assert {name for name, (_, _, shown) in answers.items() if shown} >= showing_peaches, answers
        assert max(seconds for _, seconds, _ in answers.values()) < 5, answers

    try:
        with stack_run(broker=broker, env=env) as stack:
            assert_answered(visit_pages())
            assert cache_server.keys() > 0, "the pages did not use the cache"

            # When the cache's Redis stops
            cache_server.stop()
            monkeypatch.setattr(ForgivingRedisCache, "_last_warning", 0.0)  # its once-a-minute warning
            answers = visit_pages()
            visit = checkout_by_card(
                base=web,
                stripe_base=localstripe,
                product_urls=[pages["product"]],
                add_urls=[reverse("basket:add", kwargs={"pk": market.peaches.pk})],
                buyer="buyer@example.cn",
            )

            # Then every page answers, without waiting on the dead cache, and the checkout goes through
            assert_answered(answers)
            assert visit.server_errors() == []
            assert visit.reached_thank_you(), visit.responses
            assert Payment.objects.get().status == Payment.Status.SUCCEEDED
            assert any("cache unavailable" in r.getMessage() for r in caplog.records)
            # … and the worker, on the same dead cache, does the order's follow-ups
            [order] = Order.objects.all()
            expected = expected_notices([order])
            done = wait_for(lambda: outbox_done() and events_processed(1) and mails_to(mail_dir) == expected)
            assert done, f"{state()}\nmail: {mails_to(mail_dir)}" + stack.logs()
            assert_every_shop_order_routed_once(1)

            # When the cache comes back, pages are still answered, and cached again
            cache_server.start()
            assert_answered(visit_pages())
            assert cache_server.keys() > 0, "the cache was not used again after it came back"
    finally:
        cache_server.stop()


def test_worker_processes_killed_mid_delivery_still_do_every_follow_up_once(
    web,
    broker,
    market,
    mail_dir,
    localstripe,  # noqa: F811
):
    """20 orders are paid while the worker's pool processes are SIGKILLed, several times, in the middle of
    delivering outbox rows: messages are acked late and rejected when their process is lost, so each
    comes back, and the outbox row (done in the subscriber's own transaction) makes it run once."""
    # Given a prefork worker of two processes, and the relay (leaving lost messages to the broker's
    # requeue: the relay would publish a row again only after OUTBOX_REDELIVER_SECONDS, 120 s)
    env = {**worker_env(mail_dir=mail_dir, stripe_base=localstripe), "OUTBOX_REDELIVER_SECONDS": "120"}
    buyers = [f"buyer{i}@example.cn" for i in range(20)]

    def pay(buyer: str) -> None:
        basket = Basket.objects.create()
        basket.strategy = Default()
        basket.add_product(market.peaches, 1)
        basket.add_product(market.tea, 1)
        order = checkout_place(basket=basket, user=None, email=buyer, address=SHANGHAI)
        payment = payment_attempt(order=order, payment_method=card_from_browser(localstripe, GOOD_CARD))
        assert payment.status == Payment.Status.SUCCEEDED, payment.failure_message

    with stack_run(broker=broker, env=env, pool="prefork", concurrency=2) as stack:
        worker = stack.worker
        kills = 0
        # When the sales facts' deliveries are held up in the worker (their shop's row is locked) and
        # the pool is killed twice while they wait mid-transaction
        with shop_row_held(market.peaches.shop_id):
            for buyer in buyers[:6]:
                pay(buyer)
            assert wait_for(worker_sessions_waiting_on_a_lock, timeout=30), state() + worker.log()
            for _ in range(2):
                seen = worker_sessions_waiting_on_a_lock()
                killed = kill_pool(worker)
                kills += 1
                assert wait_for(lambda k=killed: pool_replaced(worker, k), timeout=30), worker.log()
                # The new processes take up deliveries and are held up again, in sessions of their own, so
                # the next kill lands mid-delivery too. (The dead processes' sessions wait on, holding
                # their outbox rows, until the lock lets them go and they find their client gone.)
                assert wait_for(lambda s=seen: worker_sessions_waiting_on_a_lock() - s, timeout=30), (
                    "the new pool processes took up no delivery:\n" + state() + worker.log()
                )
            for buyer in buyers[6:14]:
                pay(buyer)
        # … and again, twice, whenever a process is inside a subscriber's transaction: the last buyers pay
        # one after another in a thread while this one watches the worker's sessions closely (a fast
        # machine runs a delivery in milliseconds, done before a look taken after the payments)
        failures: list[BaseException] = []

        def pay_the_rest() -> None:
            try:
                for buyer in buyers[14:]:
                    pay(buyer)
            except BaseException as error:  # noqa: BLE001  # reported by the test's thread
                failures.append(error)
            finally:
                connections.close_all()

        paying = threading.Thread(target=pay_the_rest)
        paying.start()
        mid_run = 0
        deadline = time.monotonic() + 60
        while mid_run < 2 and time.monotonic() < deadline and (paying.is_alive() or not outbox_done()):
            if not worker_in_a_transaction():
                time.sleep(0.002)
                continue
            killed = kill_pool(worker)
            kills += 1
            mid_run += 1
            assert wait_for(lambda k=killed: pool_replaced(worker, k), timeout=30), worker.log()
        paying.join(timeout=60)
        assert not failures, failures

        # Then every follow-up is done once all the same
        orders = list(Order.objects.all())
        assert len(orders) == len(buyers)
        expected = expected_notices(orders)
        shop_orders = 2 * len(buyers)

        def all_done() -> bool:
            received = notices_to(mail_dir)
            return (
                outbox_done()
                and routed_once(shop_orders)
                and events_processed(len(buyers))
                and {to: len(ids) for to, ids in received.items()} == dict(expected)
            )

        assert wait_for(all_done, timeout=60), (
            f"not caught up after the kills:\n{state()}\nnotices: "
            f"{ {to: len(ids) for to, ids in notices_to(mail_dir).items()} }\nexpected: {expected}"
            + stack.logs()
        )
        time.sleep(2)  # give a duplicate every chance to arrive
        # Deliveries killed while they ran (Celery names each lost job once per line it logs).
        lost = set(
            re.findall(
                r"WorkerLostError\('Worker exited prematurely: signal 9 \(SIGKILL\) Job: (\d+)",
                "".join(worker.output),
            )
        )

    assert kills >= 3
    assert len(lost) >= 2, "no delivery was killed mid-run:" + worker.log()
    # One notice each. A copy could only come from a process killed between handing the mail over and
    # its commit, and would carry the same Message-ID, by which mail servers and clients drop it.
    assert {to: len(ids) for to, ids in notices_to(mail_dir).items()} == dict(expected)
    assert_every_shop_order_routed_once(shop_orders)
    assert events_processed(len(buyers))
    assert outbox_done()
    assert_facts_equal_a_rebuild(shop_orders)

"""The multi-node topology (`make stack NODES=2`) loses and doubles nothing when its nodes fail: buyers
check out through nginx while one gunicorn and one Celery worker are killed (SIGKILL) and started again,
and the other gunicorn is stopped gracefully with requests in flight and started again, as a deploy does
it: taken out of nginx's rotation first (drained), then SIGTERM; then web-1 is restarted the same way
(``Stack.web_restart``). From the drain on, no buyer meets an error (no 5xx, no connection dropped) and
nginx meets no failing node. Then every order a buyer was told was placed exists once and is paid once
(our Payment rows and localstripe's intents agree), no basket made two orders, every outbox row is done,
and every follow-up ran once: each paid shop order routed once, its sale counted once, each notice sent
once.

The stack is devtools/stack.py's with ``nodes=2`` on free ports (nginx, two gunicorns, two workers, one
beat, the relay, pgbouncer in transaction mode, the two Redis, localstripe) on the test's PostgreSQL
database, whose data the fixtures commit (``transaction=True``); the buyers run bench/checkout.py's
journey in threads. Marked ``celery_worker`` (.ci/run's worker step); skipped without PostgreSQL, nginx,
pgbouncer or redis-server, failing instead with REQUIRE_CELERY_WORKER=1.
"""

import math
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.db.models import Count
from django.urls import reverse
from oscar.core.loading import get_model

from bench.checkout import KINDS, JourneyFailed, Plan, journey
from devtools.stack import HOST, Child, Stack, StackConfig, StackError, free_port, program
from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad
from marketplace.order.models import ShopOrder
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Payment, StripeEvent
from tests.integration.test_celery_worker import database_url, wait_for
from tests.integration.test_faults import (
    assert_facts_equal_a_rebuild,
    expected_notices,
    market,  # noqa: F401  (fixture)
    needs,
    needs_postgresql,  # noqa: F401  (fixture)
    notices_to,
)
from tests.logistics.conftest import demo_logistics  # noqa: F401  (fixture)

Order = get_model("order", "Order")
StockRecord = get_model("partner", "StockRecord")

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

BUYERS = 4
# A buyer whose request failed on a node that died (nginx's 502) presses again, like a person would.
PRESSES = 4
RETRIED = {0, 502, 503, 504}  # 0: no answer at all
NGINX_ERROR = re.compile(r"\[(?:error|crit|alert|emerg)\] .*")


@pytest.fixture
def topology(needs_postgresql, market, tmp_path):  # noqa: F811
    """The NODES=2 stack on the test's database; stopped (tier by tier) at the end."""
    for name, package in (("nginx", "nginx"), ("pgbouncer", "pgbouncer"), ("redis-server", "redis-server")):
        try:
            program(name, package=package)
        except StackError as missing:
            needs(False, str(missing))
    # Nothing sells out and every shop order can be routed, however many orders the run makes.
    StockRecord.objects.update(num_in_stock=1_000_000)
    LogisticsPartner.objects.update(daily_capacity=1_000_000)
    config = StackConfig(
        var_dir=tmp_path / "stack",
        database_url=database_url(),
        web_port=free_port(),
        broker_port=free_port(),
        cache_port=free_port(),
        stripe_port=free_port(),
        workers=1,
        threads=4,
        nodes=2,
        concurrency=1,
        migrate=False,  # pytest-django made the database and the fixtures filled it
        environment={
            "DJANGO_DEBUG": "false",  # production-like; nginx serves the static files
            "OUTBOX_DELIVER_ON_COMMIT": "0",
            # A task a killed worker took with it is published again by the relay after this long
            # (the broker keeps it unacknowledged for its visibility timeout, an hour).
            "OUTBOX_REDELIVER_SECONDS": "8",
        },
    )
    stack = Stack(config)
    try:
        started = time.monotonic()
        stack.start()
        report(f"\nthe NODES=2 stack started in {time.monotonic() - started:.0f} s")
        yield stack
    finally:
        stack.stop()


def child(stack: Stack, name: str) -> Child:
    return next(c for c in stack.children if c.name == name)


@dataclass
class Run:
    """What the buyers saw: the orders they were told were placed (a thank-you page), journeys that
    failed, and every answer with the press it took."""

    told: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    answers: list[tuple[float, str, int, int]] = field(default_factory=list)  # (when, kind, status, press)
    in_flight: Counter = field(default_factory=Counter)  # kind → requests sent and not answered yet
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def statuses(self, since: float = 0.0) -> Counter:
        return Counter(status for when, _kind, status, _press in self.answers if when >= since)


def caller(session: requests.Session, run: Run):
    """bench/checkout.py's ``call`` for one buyer, pressing again on a 502 or no answer: a GET nginx
    could not retry itself (the node died mid-answer), or a POST it must not (it may have been handled)."""

    def call(kind: str, method: str, url: str, **kwargs) -> requests.Response:
        expected = KINDS.get(kind, 200)
        response, status = None, 0
        for press in range(PRESSES):
            with run.lock:
                run.in_flight[kind] += 1
            try:
                response = session.request(method, url, timeout=60, allow_redirects=False, **kwargs)
                status = response.status_code
            except requests.RequestException:
                response, status = None, 0
            with run.lock:
                run.in_flight[kind] -= 1
                run.answers.append((time.monotonic(), kind, status, press))
            if status not in RETRIED:
                break
            time.sleep(0.5)
        if response is None or status != expected:
            where = response.headers.get("Location", "") if response is not None else ""
            raise JourneyFailed(f"{kind} {method} {url}: {status} (expected {expected}) {where}")
        return response

    return call


def buyer(index: int, plan: Plan, run: Run) -> None:
    """Journey after journey (home, products into the basket, checkout, card, pay, thank-you) until told
    to stop."""
    rng = random.Random(index)
    while not run.stop.is_set():
        with requests.Session() as session:
            try:
                number, _posted_at = journey(caller(session, run), session, rng, plan, index)
            except JourneyFailed as error:
                with run.lock:
                    run.failed.append(str(error))
                continue
        with run.lock:
            run.told.append(number)


TASK_LINE = re.compile(r"Task \S+\[(?P<id>[0-9a-f-]+)\] (?P<what>received|succeeded|failed|retry|raised)")


def tasks_in_hand(worker: Child) -> set[str]:
    """Ids of the tasks ``worker`` has received and not finished, from its log."""
    received, finished = set(), set()
    for match in TASK_LINE.finditer(worker.log_text()):
        (received if match["what"] == "received" else finished).add(match["id"])
    return received - finished


def until(condition, *, timeout: float) -> bool:
    """``wait_for`` polling every 5 ms: for a moment that lasts tens of milliseconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def requests_in_flight(port: int, count: int) -> list[socket.socket]:
    """``count`` requests a web process has accepted and is reading (the headers' end not sent yet)."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((HOST, port), timeout=30)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
        sockets.append(sock)
    return sockets


def request_finish(sock: socket.socket) -> str:
    """Send the end of the request's headers and read the answer's status line."""
    with sock:
        sock.sendall(b"\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


UPLOAD_BYTES = 256 * 1024


def uploads_begun(port: int, path: str, count: int) -> list[socket.socket]:
    """``count`` photo uploads through nginx with their headers and half their body sent: nginx has picked
    their upstream block by the drain files it saw then, and is reading the rest before it connects."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {UPLOAD_BYTES}\r\nConnection: close\r\n\r\n"
    ).encode()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((HOST, port), timeout=30)
        sock.sendall(head + b"x" * (UPLOAD_BYTES // 2))
        sockets.append(sock)
    return sockets


def upload_finish(sock: socket.socket) -> int:
    """Send the rest of the upload's body and read the answer's status."""
    with sock:
        sock.sendall(b"x" * (UPLOAD_BYTES - UPLOAD_BYTES // 2))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def localstripe_succeeded(stack: Stack) -> Counter:
    """Succeeded payment intents at (local) Stripe, by our order number."""
    succeeded: Counter = Counter()
    after = None
    while True:
        params = {"limit": 100, **({"starting_after": after} if after else {})}
        page = requests.get(
            f"{stack.config.stripe_url}/v1/payment_intents",
            params=params,
            auth=(stack.app_env["STRIPE_SECRET_KEY"], ""),
            timeout=30,
        ).json()
        for intent in page["data"]:
            if intent["status"] == "succeeded":
                succeeded[intent["metadata"]["order_number"]] += 1
        if not page.get("has_more") or not page["data"]:
            return succeeded
        after = page["data"][-1]["id"]


def payments_succeeded() -> Counter:
    """Our succeeded payments, by order number."""
    return Counter(
        Payment.objects.filter(status=Payment.Status.SUCCEEDED).values_list("order__number", flat=True)
    )


def settled(stack: Stack) -> bool:
    """Every follow-up done, every Stripe event processed, and every charge Stripe made recorded (a
    web process killed between Stripe's answer and our record leaves it to the webhook)."""
    return (
        not OutboxMessage.objects.filter(done_at__isnull=True).exists()
        and not StripeEvent.objects.filter(processed_at__isnull=True).exists()
        and set(localstripe_succeeded(stack)) == set(payments_succeeded())
    )


def settle(stack: Stack, *, timeout: float = 90, quiet: float = 5) -> bool:
    """Wait until ``settled`` holds twice ``quiet`` seconds apart with no new Stripe event or outbox row
    between: a webhook localstripe sends late would otherwise start new follow-ups after the checks."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        if not settled(stack):
            seen = None
            time.sleep(0.5)
            continue
        now = (StripeEvent.objects.count(), OutboxMessage.objects.count())
        if now == seen:
            return True
        seen = now
        time.sleep(quiet)
    return False


def report(text: str) -> None:
    sys.stdout.write(text + "\n")  # shown with -s; the figures of the run


def test_checkouts_through_the_proxy_survive_nodes_killed_and_stopped(topology, market):  # noqa: F811
    stack = topology
    config = stack.config
    web = config.web_url.rstrip("/")

    # The proxy: static files from STATIC_ROOT (no web process sees them), bodies above the largest
    # limit refused before they reach one, the liveness probe passed through.
    static = requests.get(f"{web}/static/storefront/css/market.css", timeout=10)
    assert static.status_code == 200
    assert static.headers["Content-Type"] == "text/css"
    assert "market.css" not in child(stack, "web-1").log_text() + child(stack, "web-2").log_text()
    with socket.create_connection((HOST, config.web_port), timeout=10) as sock:
        sock.sendall(b"POST /checkout/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 30000000\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")
    assert requests.get(f"{web}/healthz", timeout=10).json() == {"status": "ok"}
    assert [c.name for c in stack.children if c.role == "beat"] == ["beat"]

    plan = Plan(
        web=web,
        stripe=config.stripe_url,
        products=(market.peaches.get_absolute_url(), market.tea.get_absolute_url()),
        items=2,
        start_at=0.0,
        measure_from=0.0,
        stop_at=math.inf,
        orders=0,
        seed=0,
    )
    run = Run()
    phases: dict[str, float] = {}
    upload_path = reverse("console:photo-upload", kwargs={"pk": market.peaches.pk})
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        buyers = [pool.submit(buyer, index, plan, run) for index in range(BUYERS)]
        try:
            assert wait_for(lambda: len(run.told) >= BUYERS, timeout=90), run.failed[:5]

            # A crash: one web process killed outright (its whole process group) at a moment two
            # checkouts are being placed and paid (nginx shares them out between the nodes), and one
            # worker while it has a follow-up in hand.
            caught = {
                "web-1": until(lambda: run.in_flight["place + pay"] >= 2, timeout=30),
            }
            phases["kill"] = time.monotonic()
            told = len(run.told)
            killed = [child(stack, "web-1"), child(stack, "worker-1")]
            killed[0].signal(signal.SIGKILL)
            caught["worker-1"] = until(lambda: bool(tasks_in_hand(killed[1])), timeout=20)
            killed[1].signal(signal.SIGKILL)
            for process in killed:
                assert wait_for(lambda p=process: not p.group_alive(), timeout=10)
            assert wait_for(lambda: len(run.told) >= told + BUYERS, timeout=60), run.failed[-5:]
            stack.child_restart(*(process.name for process in killed))

            # A graceful stop, as a deploy does it: web-2 is drained (nginx sends it nothing new), then
            # SIGTERM; it finishes the requests it was handling. Restarted, it is back in rotation once
            # ready; then web-1 is restarted the same way (a rolling restart).
            web2 = child(stack, "web-2")
            assert web2.port is not None
            in_flight = requests_in_flight(web2.port, 3)
            # Slow uploads (a farmer's photo on a village line) begun before the drain, their bodies
            # finished only after web-2 has exited.
            uploads = uploads_begun(config.web_port, upload_path, 3)
            time.sleep(0.5)  # accepted, and being read by its threads
            phases["drain"] = time.monotonic()
            nginx_log_from = len(child(stack, "nginx").log_text())
            stack.web_drain("web-2")
            phases["sigterm"] = time.monotonic()
            web2.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert web2.alive(), "web-2 left before its requests in flight were answered"
            assert [request_finish(sock) for sock in in_flight] == ["HTTP/1.1 200 OK"] * 3
            assert web2.process.wait(timeout=30) == 0  # exited by itself, not killed at the grace's end
            # nginx connects once it holds the whole body: web-2 refuses, the request was not sent, and
            # nginx passes it to web-1, which answers (403: no CSRF cookie), not 502.
            upload_statuses = [upload_finish(sock) for sock in uploads]
            assert upload_statuses == [403] * 3, upload_statuses
            told = len(run.told)
            assert wait_for(lambda: len(run.told) >= told + 2, timeout=60), run.failed[-5:]
            stack.child_restart("web-2")
            phases["restarted"] = time.monotonic()
            told = len(run.told)
            assert wait_for(lambda: len(run.told) >= told + 2, timeout=60), run.failed[-5:]
            stack.web_restart("web-1")
            told = len(run.told)
            assert wait_for(lambda: len(run.told) >= told + 2, timeout=60), run.failed[-5:]
        finally:
            run.stop.set()
            for future in buyers:
                future.result()
    load_s = time.monotonic() - started

    # From the drain on, through web-2's stop and restart and web-1's restart: not one buyer's request
    # answered with an error or dropped, and not one request that nginx had to take from a failing node
    # to the other (a GET it retries hides from the buyer what a POST would show as a 502).
    after_drain = run.statuses(phases["drain"])
    assert after_drain[200] > 0
    assert not {status: n for status, n in after_drain.items() if status == 0 or status >= 500}, after_drain
    nginx_errors = NGINX_ERROR.findall(child(stack, "nginx").log_text()[nginx_log_from:])
    refused = [line for line in nginx_errors if upload_path in line]
    assert all("connect() failed (111: Connection refused)" in line for line in refused), refused
    nginx_errors = [line for line in nginx_errors if upload_path not in line]
    assert not nginx_errors, nginx_errors[:5]
    # At least one upload was meant for web-2 (nginx takes turns) and went to web-1 instead.
    access = (config.logs / "nginx-access.log").read_text()
    uploads_passed_on = [
        line for line in access.splitlines() if upload_path in line and ", " in line.split("upstream=")[1]
    ]
    assert uploads_passed_on, [line for line in access.splitlines() if upload_path in line]

    # Everything settles: the relay publishes again what the killed worker took with it.
    assert settle(stack), (
        f"outbox rows undone: {OutboxMessage.objects.filter(done_at__isnull=True).count()}; charged at "
        f"Stripe, not recorded: {set(localstripe_succeeded(stack)) - set(payments_succeeded())}"
    )
    drained_s = time.monotonic() - started - load_s

    # Every order a buyer was told about exists once; no basket made two orders.
    told = run.told
    assert len(told) == len(set(told))
    orders = {order.number: order for order in Order.objects.all()}
    assert set(told) <= set(orders), set(told) - set(orders)
    assert not Order.objects.values("basket_id").annotate(n=Count("id")).filter(n__gt=1).exists()

    # Paid once: one succeeded Payment per paid order, the same orders charged once at Stripe, and
    # every order a buyer was told about among them.
    succeeded = payments_succeeded()
    assert set(succeeded.values()) == {1}
    assert not Payment.objects.filter(status=Payment.Status.DUPLICATE).exists()
    assert localstripe_succeeded(stack) == succeeded
    assert all(succeeded[number] == 1 for number in told)

    # Every outbox row done, one per (subscriber, key).
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()
    assert not OutboxMessage.objects.values("handler", "key").annotate(n=Count("id")).filter(n__gt=1).exists()

    # Every follow-up once. Routing: one consignment per paid shop order, routed by one decision, each
    # leg's capacity booked once.
    paid_orders = [orders[number] for number in succeeded]
    paid_shop_orders = ShopOrder.objects.filter(order__in=paid_orders)
    assert set(paid_shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.PAID}
    consignments = list(Consignment.objects.all())
    assert sorted(c.shop_order_id for c in consignments) == sorted(
        paid_shop_orders.values_list("pk", flat=True)
    )
    assert {c.status for c in consignments} == {Consignment.Status.ROUTED}
    assert all([d["outcome"] for d in c.decisions] == ["routed"] for c in consignments)
    assert sum(PartnerDayLoad.objects.values_list("booked", flat=True)) == Leg.objects.count()
    # The sales facts count each paid shop order once (a second run would count it twice).
    assert_facts_equal_a_rebuild(paid_shop_orders.count())
    # One notice each (a copy re-sent after a crash between the hand-over and the commit keeps its
    # Message-ID: docs/architecture.md, "at least once, with a de-duplication key").
    sent = notices_to(Path(config.var_dir) / "mail")
    assert {to: len(ids) for to, ids in sent.items()} == dict(expected_notices(paid_orders))

    unpaid = len(orders) - len(succeeded)
    passed_on = sum(
        1 for line in access.splitlines() if "upstream=" in line and ", " in line.split("upstream=")[1]
    )
    pressed_again = Counter(kind for _when, kind, status, _press in run.answers if status in RETRIED)
    report(
        f"\ntopology run: killed while busy {caught}; "
        f"{len(told)} orders told placed by {BUYERS} buyers in {load_s:.0f} s "
        f"(follow-ups settled, then quiet for 5 s, {drained_s:.1f} s later); "
        f"{len(orders)} orders, {len(succeeded)} paid, "
        f"{unpaid} placed but not paid (their request died with web-1); {len(run.failed)} journeys failed "
        f"({run.failed[:3]}); answers {dict(run.statuses())}, "
        f"after the kill {dict(run.statuses(phases['kill']))}, "
        f"after the drain {dict(after_drain)} (SIGTERM {phases['sigterm'] - phases['drain']:.1f} s after "
        f"it); presses again: "
        f"{sum(1 for answer in run.answers if answer[3])} {dict(pressed_again)}; "
        f"nginx passed {passed_on} requests on to the other node ({len(uploads_passed_on)} of 3 slow "
        f"uploads finished after web-2 stopped); outbox rows published again: "
        f"{OutboxMessage.objects.filter(publish_count__gt=1).count()} of {OutboxMessage.objects.count()}; "
        f"{paid_shop_orders.count()} shop orders routed once"
    )

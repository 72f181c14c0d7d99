"""Where a checkout spends its time, in-process: the checkout benchmark's journey (home, product pages,
additions to the basket, the checkout page, place + pay, the thank-you page) through Django's test client
on a database the benchmark kept, then the follow-ups it wrote (the outbox) delivered here. Per request
kind and per follow-up: SQL statements, this process's CPU and the CPU of the PostgreSQL backend serving
it. The wall-clock figures of bench/checkout.py move with the machine; these count what one checkout does.

    .venv/bin/python bench/checkout.py --buyers 2 --duration 3 --warmup 1 --keep   # the database, once
    .venv/bin/python bench/profile_checkout.py --journeys 30
    .venv/bin/python bench/profile_checkout.py --journeys 30 --profile "place + pay" --top 40
    .venv/bin/python bench/profile_checkout.py --journeys 5 --queries "basket add"
    .venv/bin/python bench/profile_checkout.py --journeys 30 --together 3  # 3 checkouts' follow-ups at once

localstripe runs beside it (its own process, port and data file), with no webhook of its own: after
each journey the order's "payment_intent.succeeded" is posted here, signed as Stripe signs it.
"""

import argparse
import cProfile
import hashlib
import hmac
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checkout import (  # noqa: E402
    ADD_FORM,
    ADDRESSES,
    CARD_TOKEN_FORM,
    DEFAULT_URL,
    PRODUCT_LINK,
    PUBLISHABLE_KEY,
)
from devtools.stack import free_port, localstripe_argv  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="the database bench/checkout.py kept")
    parser.add_argument("--journeys", type=int, default=20, help="checkouts measured (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="checkouts before measuring (default 3)")
    parser.add_argument("--items", type=int, default=2, help="products put in each basket (default 2)")
    parser.add_argument(
        "--profile", help="cProfile this request kind or subscriber (sales.facts_after_sale, …), or 'all'"
    )
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--top", type=int, default=30, help="functions listed by --profile")
    parser.add_argument("--queries", help="print the statements of this request kind (or a follow-up)")
    parser.add_argument(
        "--together",
        type=int,
        default=1,
        help="deliver the follow-ups after every N journeys, each subscriber's rows together (default 1: "
        "after each journey, one row at a time)",
    )
    parser.add_argument(
        "--cache-url",
        default="rediscache://127.0.0.1:6379/7",
        help="its own cache: cleared at the start",
    )
    return parser.parse_args(argv)


def backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend has used (this machine's database: it runs here)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Meter:
    """Statements, this process's CPU and the backend's CPU, per kind."""

    def __init__(self, connection, profile: str | None, queries: str | None) -> None:
        self.connection = connection
        self.profile_kind = profile
        self.queries_kind = queries
        self.n: Counter = Counter()
        self.cpu: Counter = Counter()
        self.pg: Counter = Counter()
        self.statements: Counter = Counter()
        self.profiler = cProfile.Profile()
        self.printed: set[str] = set()
        self.on = False

    def backend_pid(self) -> int:
        """The PostgreSQL process serving this connection (psycopg knows it: no query)."""
        self.connection.ensure_connection()
        return self.connection.connection.info.backend_pid

    def __call__(self, kind: str, work):
        from django.test.utils import CaptureQueriesContext

        pid = self.backend_pid()
        profiling = self.on and self.profile_kind in (kind, "all")
        printing = self.on and kind == self.queries_kind and kind not in self.printed
        statements = 0

        def count(execute, sql, params, many, context):
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        # Statements are counted by a wrapper (cheap); captured with their text only when printed, as
        # capturing makes psycopg render every statement (CPU this would then count).
        with (
            CaptureQueriesContext(self.connection) if printing else nullcontext() as captured,
            self.connection.execute_wrapper(count),
        ):
            pg0, cpu0 = backend_cpu(pid), time.process_time()
            if profiling:
                self.profiler.enable()
            result = work()
            if profiling:
                self.profiler.disable()
            cpu1 = time.process_time()
        pid_after = self.backend_pid()
        pg1 = backend_cpu(pid) if pid_after == pid else pg0
        if self.on:
            self.n[kind] += 1
            self.cpu[kind] += cpu1 - cpu0
            self.pg[kind] += pg1 - pg0
            self.statements[kind] += statements
            if printing:
                self.printed.add(kind)
                print(f"\n{kind}: {statements} statements")
                for query in captured.captured_queries:
                    print("  ", query["sql"][:400])
        return result


def journey(client, meter: Meter, rng: random.Random, plan: dict, index: int):
    import requests

    def call(kind, method, url, expect, **kwargs):
        response = meter(kind, lambda: getattr(client, method)(url, **kwargs))
        if response.status_code != expect:
            raise SystemExit(f"{kind} {url}: {response.status_code}, not {expect}")
        return response

    call("home", "get", "/", 200)
    products, stripe_url = plan["products"], plan["stripe_url"]
    for path in rng.sample(products, k=min(plan["items"], len(products))):
        page = call("product", "get", path, 200)
        action = ADD_FORM.search(page.content.decode())
        call("basket add", "post", action.group(1), 302, data={"quantity": 1}, HTTP_REFERER=path)
    call("checkout page", "get", "/checkout/", 200)
    token = requests.post(
        stripe_url + "/v1/tokens",
        data=CARD_TOKEN_FORM,
        timeout=30,
    ).json()
    province, city, county, street = ADDRESSES[index % len(ADDRESSES)]
    placed = call(
        "place + pay",
        "post",
        "/checkout/",
        302,
        data={
            "email": f"profile{index}@example.cn",
            "recipient": "王小明",
            "phone": f"138 0013 {8000 + index % 1000:04d}",
            "province": province,
            "city": city,
            "county": county,
            "street": street,
            "pay_with": "card",
            "payment_method": token["card"]["id"],
        },
    )
    if "thank-you" not in placed["Location"]:
        raise SystemExit(f"place + pay landed on {placed['Location']}")
    call("thank-you", "get", placed["Location"], 200)
    webhook(client, meter, stripe_url, number=placed["Location"].rstrip("/").split("/")[-2])


WEBHOOK_SECRET = "whsec_profile"  # noqa: S105  (a test secret, localstripe only)


def webhook(client, meter: Meter, stripe_url: str, *, number: str) -> None:
    """Stripe's "payment_intent.succeeded" for the order, as Stripe signs it (it arrives after the buyer's
    own request has recorded the payment, as it mostly does under load)."""
    import requests

    from marketplace.payments.models import Payment

    intent_id = Payment.objects.filter(order__number=number).values_list("intent_id", flat=True).get()
    intent = requests.get(
        f"{stripe_url}/v1/payment_intents/{intent_id}", auth=("sk_test_profile", ""), timeout=30
    )
    body = json.dumps(
        {
            "id": f"evt_{intent_id}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": intent.json()},
        }
    )
    stamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    response = meter(
        "webhook",
        lambda: client.post(
            "/payments/stripe/webhook/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={signature}",
        ),
    )
    if response.status_code != 200:
        raise SystemExit(f"webhook: {response.status_code} {response.content[:200]!r}")


def followups(meter: Meter, *, together: bool = False) -> None:
    """Every undone outbox row delivered here, metered by handler: one row at a time, or (``together``)
    each handler's rows in one ``outbox_deliver_many``, as a worker under load takes them."""
    from marketplace.outbox.models import OutboxMessage
    from marketplace.outbox.services import outbox_deliver, outbox_deliver_many

    for _ in range(5):  # a follow-up may write follow-ups of its own
        undone = list(
            OutboxMessage.objects.filter(done_at__isnull=True).order_by("pk").values_list("pk", "handler")
        )
        if not undone:
            return
        if together:
            by_handler: dict[str, list[int]] = defaultdict(list)
            for message_id, handler in undone:
                by_handler[handler].append(message_id)
            for handler, message_ids in by_handler.items():
                meter(handler, lambda m=message_ids: outbox_deliver_many(message_ids=m))
            continue
        for message_id, handler in undone:
            meter(handler, lambda m=message_id: outbox_deliver(message_id=m))


def report(meter: Meter, checkouts: int) -> None:
    print(f"\nper checkout ({checkouts} checkouts): requests, statements, CPU ms (Django, PostgreSQL)")
    totals = defaultdict(float)
    for kind in meter.n:
        row = (
            meter.n[kind] / checkouts,
            meter.statements[kind] / checkouts,
            meter.cpu[kind] * 1000 / checkouts,
            meter.pg[kind] * 1000 / checkouts,
        )
        totals["cpu"] += row[2]
        totals["pg"] += row[3]
        print(f"  {kind:36} {row[0]:5.1f} {row[1]:7.1f} {row[2]:8.1f} {row[3]:8.1f}")
    print(f"  {'all':36} {'':5} {'':7} {totals['cpu']:8.1f} {totals['pg']:8.1f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    stripe_port = free_port()
    scratch = tempfile.TemporaryDirectory(prefix="profile-checkout-")
    data = Path(scratch.name) / "localstripe.pickle"
    stripe = subprocess.Popen(
        localstripe_argv(stripe_port, data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DJANGO_DEBUG": "false",  # as bench/checkout.py's stack: cached templates, no debug cursor
            "DATABASE_URL": args.database_url,
            "CACHE_URL": args.cache_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "OUTBOX_DELIVER_ON_COMMIT": "false",
            "VAR_DIR": str(REPO / "var/bench/checkout"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "STRIPE_API_BASE": stripe_url,
            "STRIPE_SECRET_KEY": "sk_test_profile",
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    )
    try:
        import django

        django.setup()
        import requests
        from django.core.cache import cache
        from django.db import connection
        from django.test import Client

        for _ in range(100):
            try:
                requests.get(stripe_url + "/v1/tokens", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        cache.clear()
        client = Client(HTTP_HOST="127.0.0.1")
        home = client.get("/").content.decode()
        products = sorted(set(PRODUCT_LINK.findall(home)))
        if len(products) < 2:
            raise SystemExit("fewer than 2 products on the home page: not the checkout benchmark's database?")
        meter = Meter(connection, args.profile, args.queries)
        rng = random.Random(1)
        followups(meter)  # what an earlier run left
        for index in range(args.warmup + args.journeys):
            meter.on = index >= args.warmup
            # One buyer, journey after journey, keeping its cookies (session, basket), as the benchmark's.
            plan = {"products": products, "stripe_url": stripe_url, "items": args.items}
            journey(client, meter, rng, plan, index + int(time.time()) % 100000 * 100)
            if (index + 1) % args.together == 0 or index == args.warmup - 1:
                followups(meter, together=args.together > 1)
        followups(meter, together=args.together > 1)  # the last journeys' (with --together)
        report(meter, args.journeys)
        if args.profile:
            stats = pstats.Stats(meter.profiler)
            stats.sort_stats(args.sort).print_stats(args.top)
    finally:
        stripe.terminate()
        stripe.wait()
        scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The checkout load benchmark (`make bench-checkout`): N buyers at once browse, fill a basket, check out
and pay by card against the production topology of `make stack` on 127.0.0.1; each request's latency on
loopback and gunicorn's own time for it, checkouts per second, and a bare Django view loaded by the same
clients in the same run; then how long the follow-ups (the transactional outbox) take to drain, and
whether every order placed was paid and routed.

    .venv/bin/python bench/checkout.py                          # 8 buyers, 20 s of load
    .venv/bin/python bench/checkout.py --buyers 16 --duration 60
    .venv/bin/python bench/checkout.py --orders 5               # 5 orders per buyer instead of a duration
    .venv/bin/python bench/checkout.py --keep                   # keep the database; the next --keep reuses it

The stack is devtools/stack.py's (two Redis, localstripe with the webhook registered, gunicorn, a Celery
worker, beat, the outbox relay) on free ports, with its state and logs in var/bench/checkout/ and its own
PostgreSQL database, marketplace_bench_checkout (its name must contain "bench"): dropped first, so the demo
data is loaded into a new one, and dropped at the end unless --keep. Nothing else is touched. Its stock
is raised so nothing sells out, and the carriers' daily capacity so every shop order can be routed. Latency
is the client's, on loopback; server time is gunicorn's own (%(D)s in its access log), per request kind.

Exits non-zero when a request answers 5xx or fails, an order placed is not paid or has a shop order with
no consignment, the outbox does not drain, or a process of the stack dies.
"""

import argparse
import datetime
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import signal
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/marketplace_bench_checkout"
PUBLISHABLE_KEY = "pk_test_stack"  # devtools/stack.py's STRIPE_PUBLISHABLE_KEY
CARD = "4242424242424242"
# What Stripe.js posts to make a card token (/v1/tokens) in the buyer's browser.
CARD_TOKEN_FORM = {
    "key": PUBLISHABLE_KEY,
    "card[number]": CARD,
    "card[exp_month]": "12",
    "card[exp_year]": "2030",
    "card[cvc]": "123",
}
# Delivery addresses the buyers take turns with: real divisions (the demo loads China's), all inside the
# demo's cold-chain and express coverage, so every shop order can be routed.
ADDRESSES = [
    ("上海市", "上海市", "浦东新区", "世纪大道 100 号"),
    ("浙江省", "杭州市", "西湖区", "文三路 90 号"),
    ("北京市", "北京市", "朝阳区", "建国路 88 号"),
    ("广东省", "广州市", "天河区", "天河路 385 号"),
    ("江苏省", "无锡市", "惠山区", "阳山镇桃源村 8 号"),
]
# The request kinds of a journey, in order, with the status each must answer.
KINDS = {
    "home": 200,
    "product": 200,
    "basket add": 302,
    "checkout page": 200,
    "place + pay": 302,
    "thank-you": 200,
}
STRIPE_JS = "card token (localstripe)"  # Stripe.js's part, in the buyer's browser: not our server
WEBHOOK = "webhook (localstripe → web)"  # Stripe's part: our server, no client of ours
WEBHOOK_PATH = "/payments/stripe/webhook/"  # devtools/stack.py's
CEILING = "bare view (ceiling)"
# gunicorn's access log with its own time per request (%(D)s, microseconds, from the parsed request to the
# response sent) and the kind the client named in an X-Bench header; read back after the load.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s bench=%({x-bench}i)s us=%(D)s'
ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) \S+ bench=(?P<bench>\S+) us=(?P<us>\d+)$'
)
PRODUCT_LINK = re.compile(r'href="(/catalogue/[^"/]+_\d+/)"')
ADD_FORM = re.compile(r'id="add_to_basket_form" action="([^"]+)"')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=8, help="concurrent buyers (default 8)")
    parser.add_argument(
        "--duration", type=float, default=20, help="seconds of measured load (default 20); also the ceiling's"
    )
    parser.add_argument("--orders", type=int, default=0, help="orders per buyer instead of a duration")
    parser.add_argument(
        "--warmup", type=float, default=5, help="seconds of load before measuring (default 5)"
    )
    parser.add_argument("--items", type=int, default=2, help="products put in each basket (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as make stack)")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker (default 4, as make stack)"
    )
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds to wait for the outbox")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse a kept one)")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    parser.add_argument("--var-dir", type=Path, default=REPO / "var" / "bench" / "checkout")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)
    parts = urlsplit(args.database_url)
    if parts.scheme not in ("postgres", "postgresql") or "bench" not in parts.path:
        parser.error("--database-url must name a PostgreSQL database whose name contains 'bench'")
    return args


# --- the database, outside the stack -----------------------------------------------------------------


def _libpq(url: str, database: str | None = None) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        ("postgresql", parts.netloc, f"/{database}" if database else parts.path, parts.query, "")
    )


def _name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def database_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(_libpq(url, "postgres"), autocommit=True) as admin:
        return (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_name(url)]).fetchone() is not None
        )


def database_drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_libpq(url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_name(url))))


def connect(url: str):
    import psycopg

    return psycopg.connect(_libpq(url), autocommit=True)


def world_prepare(url: str) -> int:
    """Enough stock that nothing sells out and enough carrier capacity that every shop order can be
    routed (the demo's village service points take 40 parcels a day); returns the last order id before
    the run, so only this run's orders are checked."""
    with connect(url) as db:
        db.execute("UPDATE partner_stockrecord SET num_in_stock = COALESCE(num_allocated, 0) + 1000000")
        db.execute("UPDATE logistics_logisticspartner SET daily_capacity = 1000000")
        return db.execute("SELECT COALESCE(MAX(id), 0) FROM order_order").fetchone()[0]


def outbox_undone(db) -> int:
    return db.execute("SELECT count(*) FROM outbox_outboxmessage WHERE done_at IS NULL").fetchone()[0]


# --- the clients (one process each, forked) -------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    web: str
    stripe: str
    products: tuple[str, ...]
    items: int
    start_at: float  # time.time(): when the buyers begin
    measure_from: float  # requests that start from here on are measured
    stop_at: float  # no journey starts after this (inf with --orders)
    orders: int  # measured orders per buyer with --orders, else 0
    seed: int


@dataclass
class ClientResult:
    # (kind, started at time.time(), seconds, status): every request, warm-up included
    samples: list[tuple[str, float, float, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    orders: list[tuple[str, float]] = field(default_factory=list)  # (number, when its POST began)
    finished_at: float = 0.0


class JourneyFailed(Exception):
    pass


def _quiet_child() -> None:
    # Ctrl-C reaches the whole foreground group: the parent ends the pool (SIGTERM, the default action
    # again: not the parent's handler inherited through fork) and stops the stack.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def buyer(index: int, plan: Plan) -> ClientResult:
    """One buyer with one session, journey after journey: home, ``items`` product pages each followed by
    an add to the basket, the checkout page, a card token from localstripe as Stripe.js makes it, the
    order placed and paid, the thank-you page."""
    import requests

    rng = random.Random(plan.seed + index)
    result = ClientResult()
    session = requests.Session()
    measured_orders = 0
    time.sleep(max(0.0, plan.start_at - time.time()))

    def call(kind: str, method: str, url: str, **kwargs) -> requests.Response:
        started = time.time()
        clock = time.perf_counter()
        # w: warm-up, m: measured, t: a journey finishing after the measured window
        phase = "w" if started < plan.measure_from else "m" if started < plan.stop_at else "t"
        headers = {"X-Bench": f"{phase}:{kind.replace(' ', '_')}", **kwargs.pop("headers", {})}
        try:
            response = session.request(
                method, url, headers=headers, timeout=120, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            result.samples.append((kind, started, time.perf_counter() - clock, 0))
            raise JourneyFailed(f"{kind} {method} {url}: {type(error).__name__}: {error}") from error
        result.samples.append((kind, started, time.perf_counter() - clock, response.status_code))
        expected = KINDS.get(kind, 200)
        if response.status_code != expected:
            body = response.text[:300].replace("\n", " ") if response.status_code != 302 else ""
            where = response.headers.get("Location", "")
            raise JourneyFailed(
                f"{kind} {method} {url}: {response.status_code} (expected {expected}) {where}{body}"
            )
        return response

    while True:
        now = time.time()
        if now >= plan.stop_at or (plan.orders and measured_orders >= plan.orders):
            break
        measured = now >= plan.measure_from
        try:
            placed = journey(call, session, rng, plan, index)
        except JourneyFailed as error:
            result.errors.append(str(error))
            if len(result.errors) >= 20:
                break  # the server is down or broken: no point in hammering it
            session = requests.Session()  # a fresh buyer: the basket may be half-filled
            continue
        result.orders.append(placed)
        measured_orders += measured
    result.finished_at = time.time()
    return result


def journey(call, session, rng: random.Random, plan: Plan, index: int) -> tuple[str, float]:
    """One visit that ends in a paid order: its number and when the order was posted. ``call`` makes each
    request (kind, method, url, requests' keywords) and checks its status; tests/integration/test_topology.py
    runs this journey through nginx with a ``call`` that presses again after a 502."""
    web = plan.web
    call("home", "GET", web + "/")
    for path in rng.sample(plan.products, k=min(plan.items, len(plan.products))):
        page = call("product", "GET", web + path)
        action = ADD_FORM.search(page.text)
        if action is None:
            raise JourneyFailed(f"product {path}: no add-to-basket form")
        csrf = session.cookies.get("csrftoken", "")
        call(
            "basket add",
            "POST",
            web + action.group(1),
            data={"csrfmiddlewaretoken": csrf, "quantity": 1},
            headers={"Referer": web + path},
        )
    call("checkout page", "GET", web + "/checkout/")
    token = call(
        STRIPE_JS,
        "POST",
        plan.stripe + "/v1/tokens",
        data=CARD_TOKEN_FORM,
    )
    province, city, county, street = ADDRESSES[(index + rng.randrange(len(ADDRESSES))) % len(ADDRESSES)]
    posted_at = time.time()
    placed = call(
        "place + pay",
        "POST",
        web + "/checkout/",
        data={
            "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            "email": f"buyer{index}@example.cn",
            "recipient": "王小明",
            "phone": f"138 0013 {8000 + index:04d}",
            "province": province,
            "city": city,
            "county": county,
            "street": street,
            "pay_with": "card",
            "payment_method": token.json()["card"]["id"],
        },
        headers={"Referer": web + "/checkout/"},
    )
    landed = placed.headers.get("Location", "")
    match = re.search(r"/checkout/orders/([^/]+)/thank-you/$", landed)
    if match is None:
        raise JourneyFailed(f"place + pay landed on {landed}, not the thank-you page (not paid)")
    call("thank-you", "GET", web + landed if landed.startswith("/") else landed)
    return match.group(1), posted_at


def ceiling_client(index: int, url: str, start_at: float, stop_at: float) -> ClientResult:
    """The same kind of client on the bare view: one session, one request after another."""
    import requests

    result = ClientResult()
    session = requests.Session()
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        started, clock = time.time(), time.perf_counter()
        try:
            status = session.get(url, headers={"X-Bench": "m:ceiling"}, timeout=60).status_code
        except requests.RequestException as error:
            status = 0
            result.errors.append(f"ceiling: {type(error).__name__}: {error}")
        result.samples.append((CEILING, started, time.perf_counter() - clock, status))
        if status not in (0, 200) and len(result.errors) < 20:
            result.errors.append(f"ceiling answered {status}")
    result.finished_at = time.time()
    return result


# --- figures -------------------------------------------------------------------------------------------


def nearest_rank(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Row:
    name: str
    count: int = 0
    per_s: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    server_count: int = 0
    server_p50_ms: float = math.nan
    server_p95_ms: float = math.nan
    rate_vs_ceiling: float = math.nan  # this kind's req/s ÷ the bare view's req/s
    p50_vs_ceiling: float = math.nan  # this kind's p50 ÷ the bare view's p50
    server_p50_vs_ceiling: float = math.nan  # the same on gunicorn's own time


def row_of(name: str, latencies: list[float], window_s: float, server_us: list[int]) -> Row:
    return Row(
        name,
        count=len(latencies),
        per_s=len(latencies) / window_s if window_s else 0.0,
        p50_ms=nearest_rank(latencies, 0.50) * 1000,
        p95_ms=nearest_rank(latencies, 0.95) * 1000,
        server_count=len(server_us),
        server_p50_ms=nearest_rank(server_us, 0.50) / 1000,
        server_p95_ms=nearest_rank(server_us, 0.95) / 1000,
    )


def access_log(path: Path, start: int = 0, end: int | None = None) -> list[dict]:
    """gunicorn's access lines between two byte offsets: method, path, status, bench label, µs."""
    with path.open("rb") as log:
        log.seek(start)
        text = log.read(None if end is None else end - start).decode(errors="replace")
    lines = []
    for line in text.splitlines():
        match = ACCESS_LINE.search(line)
        if match:
            lines.append({**match.groupdict(), "status": int(match["status"]), "us": int(match["us"])})
    return lines


def server_times(lines: list[dict]) -> dict[str, list[int]]:
    """Server µs per kind: the client's own label for the measured requests, the webhook by its path."""
    times: dict[str, list[int]] = defaultdict(list)
    for line in lines:
        phase, _, kind = line["bench"].partition(":")
        if phase == "m":
            times["ceiling" if kind == "ceiling" else kind.replace("_", " ")].append(line["us"])
        elif line["path"].startswith(WEBHOOK_PATH):
            times[WEBHOOK].append(line["us"])
    return times


def fmt(value: float, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| request | n | req/s | p50 ms | p95 ms | server p50 ms | server p95 ms "
        "| req/s ÷ ceiling | p50 × ceiling | server p50 × ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        rate = "" if math.isnan(row.rate_vs_ceiling) else f"{row.rate_vs_ceiling * 100:.1f} %"
        times = [
            "" if math.isnan(r) else f"{r:,.0f}×" for r in (row.p50_vs_ceiling, row.server_p50_vs_ceiling)
        ]
        count = row.count or row.server_count
        lines.append(
            f"| {row.name} | {count:,} | {fmt(row.per_s)} | {fmt(row.p50_ms)} | {fmt(row.p95_ms)} "
            f"| {fmt(row.server_p50_ms)} | {fmt(row.server_p95_ms)} | {rate} | {times[0]} | {times[1]} |"
        )
    return "\n".join(lines)


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b.*)$")
ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|\[ERROR\]|ERROR/")


def log_findings(logs: Path) -> dict[str, Counter]:
    """What went wrong in each process's log: the exception line of every traceback and every ERROR
    line, counted (numbers replaced, so the same failure for different orders counts as one)."""
    findings: dict[str, Counter] = {}
    for log in sorted(logs.glob("*.log")):
        found: Counter = Counter()
        in_traceback = False
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("Traceback (most recent call last)"):
                in_traceback = True
                continue
            if in_traceback and line and not line[0].isspace():
                match = EXCEPTION_LINE.match(line)
                if match:
                    found["traceback: " + re.sub(r"\d+", "N", match.group(1))[:200]] += 1
                    in_traceback = False
                continue
            if ERROR_LINE.search(line):
                found["log: " + re.sub(r"\d+", "N", line.strip())[:200]] += 1
        if found:
            findings[log.name] = found
    return findings


TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name (state, ppid, …: field 3 onwards, so
    ``[1]`` is the parent, ``[11:15]`` utime, stime, cutime, cstime), or None for a process gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process, its children that ended and were waited for,
    and its living descendants."""
    fields = _proc_stat_fields(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    if fields is None:
        return 0.0
    own = sum(int(value) for value in fields[11:15]) / TICK  # utime, stime, cutime, cstime
    return own + sum(cpu_seconds(int(child)) for child in children)


def ended_children_cpu_seconds(pid: int) -> float:
    """CPU time of the children of ``pid`` that ended and were waited for (cutime + cstime)."""
    fields = _proc_stat_fields(pid)
    return 0.0 if fields is None else (int(fields[13]) + int(fields[14])) / TICK


def postmaster_pid(db) -> int | None:
    """The PostgreSQL server's main process: the parent of this connection's backend."""
    (backend,) = db.execute("SELECT pg_backend_pid()").fetchone()
    fields = _proc_stat_fields(backend)
    return None if fields is None else int(fields[1])


def cpu_snapshot(processes: dict[str, list[int]], db) -> dict[str, float]:
    """CPU seconds so far per named group of processes and per PostgreSQL backend of our database
    ("pg <pid>"), the machine's busy and idle seconds (all cores), and the monotonic clock ("at").
    "postgresql, ended" is what PostgreSQL processes that ended used (the postmaster waits for them):
    backends closed during the window (a client that reconnects per task or request) and autovacuum."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    backends = db.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchall()
    postmaster = postmaster_pid(db)
    return {
        **{name: sum(cpu_seconds(pid) for pid in pids) for name, pids in processes.items()},
        **{f"pg {pid}": cpu_seconds(pid) for (pid,) in backends},
        "postgresql, ended": ended_children_cpu_seconds(postmaster) if postmaster else 0.0,
        "machine busy": (sum(values) - idle) / TICK,
        "idle": idle / TICK,
        "at": time.monotonic(),
    }


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What each part used between two snapshots; the backends of our database summed as "postgresql"
    (its connections are kept: CONN_MAX_AGE)."""
    used = {key: value - before.get(key, 0.0) for key, value in after.items() if not key.startswith("pg ")}
    used["postgresql"] = sum(v - before.get(k, 0.0) for k, v in after.items() if k.startswith("pg "))
    return used


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def say(text: str = "") -> None:
    print(text, flush=True)


# --- the run -------------------------------------------------------------------------------------------


def var_dir_clear(var_dir: Path) -> None:
    """This run's state only: a previous run's broker queue, localstripe data, beat schedule, mail and
    logs would otherwise be read as this one's."""
    for name in ("redis-broker", "redis-cache", "mail", "logs"):
        shutil.rmtree(var_dir / name, ignore_errors=True)
    for name in ("localstripe.pickle", "results.json", "gunicorn.ctl", "ceiling.ctl"):
        (var_dir / name).unlink(missing_ok=True)
    (var_dir / "static").mkdir(parents=True, exist_ok=True)  # STATIC_ROOT: whitenoise warns when missing
    for stale in var_dir.glob("celerybeat-schedule*"):
        stale.unlink()
    var_dir.mkdir(parents=True, exist_ok=True)


def ceiling_start(stack, args):
    """A second gunicorn, configured as the stack's (workers, threads, environment: database, Redis
    cache), serving ``bench.settings``: the marketplace's URLs plus ``/bench/ceiling/``, a bare view
    behind the full middleware stack."""
    from devtools.stack import free_port, http_status, spawn, wait_until

    port = free_port()
    child = spawn(
        "ceiling",
        [
            sys.executable, "-m", "gunicorn", "marketplace.wsgi",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers),
            "--threads", str(args.threads),
            "--graceful-timeout", "10",
            "--access-logfile", "-",
            "--control-socket", str(stack.config.var_dir / "ceiling.ctl"),
        ],
        env={**stack.env, "DJANGO_SETTINGS_MODULE": "bench.settings"},
        log=stack.config.logs / "ceiling.log",
        port=port,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/bench/ceiling/"
    wait_until(lambda: http_status(url) == 200, what="the ceiling's gunicorn", child=child)
    return child, url


def products_find(web: str) -> list[str]:
    """The product pages the home page links to that offer an add-to-basket form."""
    import requests

    home = requests.get(web + "/", timeout=120)
    home.raise_for_status()
    found = []
    for path in sorted(set(PRODUCT_LINK.findall(home.text))):
        page = requests.get(web + path, timeout=120)
        if page.status_code == 200 and ADD_FORM.search(page.text):
            found.append(path)
    return found


@dataclass
class CeilingRun:
    latencies: list[float] = field(default_factory=list)
    server_us: list[int] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # the bare view's gunicorn (master and workers) while it was measured

    def add(self, other: "CeilingRun") -> None:
        self.latencies += other.latencies
        self.server_us += other.server_us
        self.seconds += other.seconds
        self.errors += other.errors
        self.cpu_s += other.cpu_s

    @property
    def cpu_ms_per_request(self) -> float:
        """The CPU one bare-view request costs the web (its gunicorn), measured in the same run: the unit
        a checkout's cost is stated in, so runs on a faster or slower moment of the machine compare."""
        return self.cpu_s * 1000 / len(self.server_us) if self.server_us else math.nan


def ceiling_measure(pool, child, url: str, *, clients: int, seconds: float) -> CeilingRun:
    """The bare view served by ``child`` (the ceiling's gunicorn) to ``clients`` for ``seconds``: the
    latencies, its access log's server times and its CPU."""
    offset = child.log.stat().st_size
    start_at = time.time() + 0.5
    stop_at = start_at + seconds
    cpu_before = cpu_seconds(child.pid)
    results = pool.starmap(ceiling_client, [(i, url, start_at, stop_at) for i in range(clients)])
    time.sleep(0.2)  # gunicorn writes the access line after the response
    return CeilingRun(
        latencies=[s[2] for r in results for s in r.samples],
        server_us=server_times(access_log(child.log, offset))["ceiling"],
        seconds=stop_at - start_at,
        errors=[e for r in results for e in r.errors],
        cpu_s=cpu_seconds(child.pid) - cpu_before,
    )


@dataclass
class LoadRun:
    buyers: list[ClientResult]
    measure_from: float
    window_end: float
    server_us: dict[str, list[int]]
    outbox_most: int  # the most undone outbox rows seen during the measured window
    outbox_at_end: int  # undone when the last buyer finished
    drain_s: float  # from then until none was undone
    outbox_left: int  # undone after --drain-timeout (0: drained)
    cpu: dict[str, float]  # CPU seconds used in the measured window, per process group and machine-wide

    @property
    def window(self) -> float:
        return self.window_end - self.measure_from

    @property
    def checkouts(self) -> int:
        """Orders placed, paid and thanked for whose POST began in the measured window."""
        return sum(self.measure_from <= at < self.window_end for r in self.buyers for _number, at in r.orders)

    @property
    def orders_seen_paid(self) -> int:
        """Every order a buyer saw through to the thank-you page, warm-up included."""
        return sum(len(r.orders) for r in self.buyers)


def load_run(
    pool,
    plan: Plan,
    *,
    buyers: int,
    processes: dict[str, list[int]],
    database_url: str,
    web_log: Path,
    drain_timeout: float,
) -> LoadRun:
    """The buyers' load; meanwhile the outbox's backlog is sampled and the CPU each part of the stack
    uses in the measured window is read from /proc; afterwards the outbox's drain is timed."""
    processes = {**processes, "buyers": [child.pid for child in multiprocessing.active_children()]}
    running = pool.starmap_async(buyer, [(i, plan) for i in range(buyers)])
    outbox_most = 0
    web_offset = 0
    cpu_from = cpu_until = None
    with connect(database_url) as db:
        while not running.ready():
            now = time.time()
            if now >= plan.measure_from:
                web_offset = web_offset or web_log.stat().st_size
                cpu_from = cpu_from or cpu_snapshot(processes, db)
                outbox_most = max(outbox_most, outbox_undone(db))
            if now >= plan.stop_at and cpu_until is None:
                cpu_until = cpu_snapshot(processes, db)
            running.wait(0.5)
        cpu_until = cpu_until or cpu_snapshot(processes, db)
        results = running.get()
        load_end = time.time()
        outbox_at_end = outbox_undone(db)
        deadline = time.monotonic() + drain_timeout
        while (left := outbox_undone(db)) and time.monotonic() < deadline:
            time.sleep(0.2)
        drain_s = time.time() - load_end
    window_end = max(r.finished_at for r in results) if plan.orders else plan.stop_at
    return LoadRun(
        buyers=results,
        measure_from=plan.measure_from,
        window_end=window_end,
        server_us=server_times(access_log(web_log, web_offset)),
        outbox_most=outbox_most,
        outbox_at_end=outbox_at_end,
        drain_s=drain_s,
        outbox_left=left,
        cpu=cpu_used(cpu_from, cpu_until) if cpu_from else {},
    )


def rows_make(load: LoadRun, ceiling: CeilingRun) -> list[Row]:
    """One row per request kind, each against the bare view's row."""
    latencies: dict[str, list[float]] = defaultdict(list)
    for result in load.buyers:
        for kind, at, seconds, _status in result.samples:
            if load.measure_from <= at < load.window_end:
                latencies[kind].append(seconds)
    ceiling_row = row_of(CEILING, ceiling.latencies, ceiling.seconds, ceiling.server_us)
    kinds = [(kind, latencies[kind], load.server_us[kind]) for kind in KINDS]
    everything = (
        "all our pages",
        [s for _k, c, _s in kinds for s in c],
        [u for _k, _c, s in kinds for u in s],
    )
    rows = [ceiling_row]
    for name, client, server in [*kinds, everything]:
        row = row_of(name, client, load.window, server)
        row.rate_vs_ceiling = row.per_s / ceiling_row.per_s
        row.p50_vs_ceiling = row.p50_ms / ceiling_row.p50_ms
        row.server_p50_vs_ceiling = row.server_p50_ms / ceiling_row.server_p50_ms
        rows.append(row)
    rows.append(row_of(STRIPE_JS, latencies[STRIPE_JS], load.window, []))
    webhook = row_of(WEBHOOK, [], load.window, load.server_us[WEBHOOK])
    webhook.per_s = webhook.server_count / load.window
    rows.append(webhook)
    return rows


@dataclass
class OrdersCheck:
    orders: int
    shop_orders: dict[str, int]
    payments: dict[str, int]
    orders_unpaid: int  # orders without a succeeded payment
    consignments: dict[str, int]  # by status; "none": a shop order with no consignment
    needs_routing: list[tuple[str, int]]  # (reason, count)
    follow_ups: list[tuple]  # (handler, rows, p50, p95, max as timedelta, failed runs, undone)

    @property
    def shop_orders_not_paid(self) -> int:
        return sum(self.shop_orders.values()) - self.shop_orders.get("paid", 0)


def orders_check(database_url: str, *, after_order_id: int, since: float) -> OrdersCheck:
    """This run's orders once the follow-ups are done: paid (a succeeded payment, every shop order
    'paid'), routed (a consignment per shop order), and how long each follow-up took."""
    with connect(database_url) as db:

        def counts(query: str) -> dict[str, int]:
            return dict(db.execute(query, [after_order_id]).fetchall())

        return OrdersCheck(
            orders=db.execute("SELECT count(*) FROM order_order WHERE id > %s", [after_order_id]).fetchone()[
                0
            ],
            shop_orders=counts("SELECT status, count(*) FROM shops_shoporder WHERE order_id > %s GROUP BY 1"),
            payments=counts("SELECT status, count(*) FROM payments_payment WHERE order_id > %s GROUP BY 1"),
            orders_unpaid=db.execute(
                """SELECT count(*) FROM order_order o WHERE o.id > %s AND NOT EXISTS (
                     SELECT 1 FROM payments_payment p WHERE p.order_id = o.id AND p.status = 'succeeded')""",
                [after_order_id],
            ).fetchone()[0],
            consignments=counts(
                """SELECT COALESCE(c.status, 'none'), count(*) FROM shops_shoporder s
                   LEFT JOIN logistics_consignment c ON c.shop_order_id = s.id
                   WHERE s.order_id > %s GROUP BY 1"""
            ),
            needs_routing=db.execute(
                """SELECT c.reason, count(*) FROM logistics_consignment c
                   JOIN shops_shoporder s ON s.id = c.shop_order_id
                   WHERE s.order_id > %s AND c.status = 'needs_routing' GROUP BY 1 ORDER BY 2 DESC LIMIT 5""",
                [after_order_id],
            ).fetchall(),
            follow_ups=db.execute(
                """SELECT handler, count(*),
                          percentile_disc(0.5) WITHIN GROUP (ORDER BY done_at - created_at),
                          percentile_disc(0.95) WITHIN GROUP (ORDER BY done_at - created_at),
                          max(done_at - created_at), sum(failures), count(*) FILTER (WHERE done_at IS NULL)
                   FROM outbox_outboxmessage WHERE created_at >= %s GROUP BY handler ORDER BY handler""",
                [datetime.datetime.fromtimestamp(since, datetime.UTC)],
            ).fetchall(),
        )


def seconds_of(delta) -> float:
    return math.nan if delta is None else delta.total_seconds()


def report(
    args,
    rows: list[Row],
    load: LoadRun,
    check: OrdersCheck,
    findings: dict,
    errors: list[str],
    bare: CeilingRun,
) -> None:
    checkouts = load.checkouts
    ceiling, everything = rows[0], rows[len(KINDS) + 1]
    say()
    say(
        f"{args.buyers} buyers, {args.items} products a basket; gunicorn {args.workers} workers × "
        f"{args.threads} threads; measured {load.window:.1f} s after {args.warmup:.0f} s of warm-up; "
        f"load average now {load_average()}"
    )
    say(table(rows))
    say()
    say(
        f"checkouts (placed, paid, thank-you page shown) in the window: {checkouts} in {load.window:.1f} s "
        f"= {checkouts / load.window:.2f}/s; all our pages {everything.per_s:.1f} req/s, "
        f"{everything.rate_vs_ceiling * 100:.1f} % of the bare view's {ceiling.per_s:,.0f} req/s"
    )
    say(
        f"orders of this run (warm-up included): {check.orders} in the database, "
        f"{load.orders_seen_paid} seen paid by the buyers; without a succeeded payment: "
        f"{check.orders_unpaid}; payments {check.payments}; shop orders {check.shop_orders}"
    )
    say(
        f"consignments of those shop orders: {check.consignments}"
        + (f"; needs routing because: {check.needs_routing}" if check.needs_routing else "")
    )
    if load.cpu:
        groups = {k: v for k, v in load.cpu.items() if k not in ("machine busy", "idle", "at")}
        say(
            f"CPU seconds in the measured window ({os.cpu_count()} cores × {load.cpu['at']:.1f} s): "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in groups.items())
            + "; everything else (other databases, other work on the machine) "
            f"{load.cpu['machine busy'] - sum(groups.values()):.1f}; idle {load.cpu['idle']:.1f}"
        )
        if checkouts:
            stack_cpu = sum(seconds for name, seconds in groups.items() if name != "buyers")
            per_checkout = {
                name: groups.get(name, 0.0) / checkouts
                for name in ("web", "worker", "postgresql", "postgresql, ended")
            }
            say(
                "CPU per checkout in the window (its pages, webhooks and follow-ups): "
                + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in per_checkout.items())
                + f", the whole stack {stack_cpu / checkouts * 1000:.0f} ms"
            )
            # The same costs in bare-view requests of this run: the machine's speed moves from run to run
            # (other tenants of the host), and both sides of this ratio move with it.
            unit = bare.cpu_ms_per_request
            say(
                f"the same in bare-view requests (the bare view: {unit:.2f} ms of CPU a request in its "
                f"gunicorn, this run): web {per_checkout['web'] * 1000 / unit:.0f}, the whole stack "
                f"{stack_cpu / checkouts * 1000 / unit:.0f}"
            )
    say(
        f"outbox: at most {load.outbox_most} rows undone during the window, {load.outbox_at_end} when the "
        f"load ended, "
        + (
            f"drained {load.drain_s:.1f} s later"
            if not load.outbox_left
            else f"{load.outbox_left} NOT DRAINED"
        )
    )
    say("follow-ups written from the measured window on (written → done):")
    say("| subscriber | rows | p50 s | p95 s | max s | failed runs | undone |")
    say("|---|---:|---:|---:|---:|---:|---:|")
    for handler, count, p50_s, p95_s, longest_s, failed, left in check.follow_ups:
        p50, p95, longest = (fmt(seconds_of(d), 2) for d in (p50_s, p95_s, longest_s))
        say(f"| {handler} | {count} | {p50} | {p95} | {longest} | {failed} | {left} |")
    if findings:
        say("errors in the stack's logs:")
    for log, found in findings.items():
        for message, count in found.most_common(8):
            say(f"  {log}: {count}× {message}")
    for error in errors[:10]:
        say(f"  failed request: {error}")


def failures_of(load: LoadRun, ceiling: CeilingRun, check: OrdersCheck, logs: list[Path], dead: list[str]):
    failures = []
    statuses = Counter(s[3] for r in load.buyers for s in r.samples)
    fivexx = {status: n for status, n in statuses.items() if status >= 500}
    logged = Counter(
        f"{line['method']} {re.sub(r'[0-9]+', 'N', line['path'])} {line['status']}"
        for log in logs
        for line in access_log(log)
        # a webhook Stripe sees refused is retried for days: any 4xx counts too
        if line["status"] >= 500 or (line["path"].startswith(WEBHOOK_PATH) and line["status"] >= 400)
    )
    if fivexx or logged:
        failures.append(
            f"5xx or a webhook refused: the buyers saw {fivexx or 'none'}, "
            f"the access logs have {dict(logged) or 'none'}"
        )
    errors = [e for r in load.buyers for e in r.errors] + ceiling.errors
    if errors:
        failures.append(f"{len(errors)} requests failed or answered an unexpected status")
    if check.orders_unpaid or check.shop_orders_not_paid:
        failures.append(
            f"not paid: {check.orders_unpaid} orders, "
            f"{check.shop_orders_not_paid} shop orders {check.shop_orders}"
        )
    if check.consignments.get("none"):
        failures.append(f"not routed: {check.consignments['none']} shop orders without a consignment")
    if load.outbox_left:
        failures.append(f"the outbox did not drain: {load.outbox_left} rows undone")
    if dead:
        failures.append(f"died during the run: {', '.join(dead)}")
    return failures, errors


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    import redis

    from devtools.stack import Stack, StackConfig, StackError, free_port

    var_dir = args.var_dir.resolve()
    var_dir_clear(var_dir)
    reused = args.keep and database_exists(args.database_url)
    if not reused:
        database_drop(args.database_url)  # a new one: the stack loads the demo data into it
    os.environ["DJANGO_DEBUG"] = "false"  # production-like: cached templates, no debug cursor
    os.environ["GUNICORN_CMD_ARGS"] = f"--access-logformat '{ACCESS_LOG_FORMAT}'"
    config = StackConfig(
        var_dir=var_dir,
        database_url=args.database_url,
        web_port=free_port(),
        broker_port=free_port(),
        cache_port=free_port(),
        stripe_port=free_port(),
        workers=args.workers,
        threads=args.threads,
        demo=None,
    )
    stack = Stack(config)
    ceiling_child = None
    web = config.web_url.rstrip("/")

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    say(f"checkout benchmark: {args.buyers} buyers; the stack under {var_dir}")
    say(f"load average before: {load_average()}")
    failures: list[str] = []
    results: dict = {}
    started = time.monotonic()
    try:
        stack.start()
        stack_start_s = time.monotonic() - started
        say(f"  stack up in {stack_start_s:.0f} s{' (kept database)' if reused else ''} on {config.web_url}")
        ceiling_child, ceiling_url = ceiling_start(stack, args)
        after_order_id = world_prepare(args.database_url)
        redis.Redis(host="127.0.0.1", port=config.cache_port).flushdb()  # stock changed behind its back
        products = products_find(web)
        if not products:
            raise SystemExit("the home page links no product that can be put in the basket")
        say(f"  {len(products)} products on the home page; stock and carrier capacity raised")

        with multiprocessing.get_context("fork").Pool(args.buyers, initializer=_quiet_child) as pool:
            # The bare view: half its time before the checkout load and half after the outbox drained, so a
            # change in the machine's load during the run moves both sides of the ratios.
            half = args.duration / 2
            ceiling_measure(pool, ceiling_child, ceiling_url, clients=args.buyers, seconds=1)  # warm-up
            ceiling = ceiling_measure(pool, ceiling_child, ceiling_url, clients=args.buyers, seconds=half)
            say(f"  bare view, first half: {len(ceiling.latencies) / ceiling.seconds:,.0f} req/s")
            start_at = time.time() + 1
            measure_from = start_at + args.warmup
            plan = Plan(
                web=web,
                stripe=config.stripe_url,
                products=tuple(products),
                items=args.items,
                start_at=start_at,
                measure_from=measure_from,
                stop_at=math.inf if args.orders else measure_from + args.duration,
                orders=args.orders,
                seed=args.seed,
            )
            say(
                f"  buyers: {args.warmup:.0f} s warm-up, then "
                + (f"{args.orders} orders each" if args.orders else f"{args.duration:.0f} s measured")
            )
            load = load_run(
                pool,
                plan,
                buyers=args.buyers,
                processes={child.name: [child.pid] for child in stack.children},
                database_url=args.database_url,
                web_log=config.logs / "web.log",
                drain_timeout=args.drain_timeout,
            )
            say(
                f"  load done; the outbox drained {load.drain_s:.1f} s after it "
                f"({load.outbox_at_end} rows undone at the end)"
            )
            ceiling.add(ceiling_measure(pool, ceiling_child, ceiling_url, clients=args.buyers, seconds=half))

        rows = rows_make(load, ceiling)
        check = orders_check(args.database_url, after_order_id=after_order_id, since=measure_from)
        dead = [c.name for c in [*stack.children, ceiling_child] if not c.alive()]
        failures, errors = failures_of(
            load, ceiling, check, [config.logs / "web.log", ceiling_child.log], dead
        )
        findings = log_findings(config.logs)
        report(args, rows, load, check, findings, errors, ceiling)
        checkouts = load.checkouts
        results = {
            "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "args": {k: str(v) for k, v in vars(args).items()},
            "stack_start_s": stack_start_s,
            "window_s": load.window,
            "rows": [asdict(r) for r in rows],
            "checkouts": checkouts,
            "checkouts_per_s": checkouts / load.window,
            "orders": asdict(check),
            "cpu_s": load.cpu,
            "bare_view_cpu_ms": ceiling.cpu_ms_per_request,
            "outbox": {"most": load.outbox_most, "at_end": load.outbox_at_end, "drain_s": load.drain_s},
            "log_findings": {log: dict(found) for log, found in findings.items()},
            "errors": errors[:50],
            "failures": failures,
        }
    except KeyboardInterrupt:
        failures.append("interrupted")
    except StackError as error:
        failures.append(f"the stack did not start: {error}")
    finally:
        say("stopping …")
        if ceiling_child is not None:
            say(f"  stopped ceiling (pid {ceiling_child.pid}): code {ceiling_child.stop(timeout=15)}")
        stack.stop()
        if not args.keep:
            database_drop(args.database_url)
            say(f"  dropped the database {_name(args.database_url)}")
    if results:
        out = var_dir / "results.json"
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
        say(f"results: {out}; the stack's logs: {config.logs}/")
    if failures:
        say("FAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The production topology on one machine (`make stack`): two Redis instances (broker, cache), PostgreSQL,
localstripe with the marketplace's webhook registered, gunicorn, a Celery worker, Celery beat and the
outbox relay, every one on 127.0.0.1 and in its own process group, supervised until Ctrl-C or SIGTERM.

    .venv/bin/python devtools/stack.py [--web-port 8010] [--workers 2] [--threads 4] [--demo | --no-demo]
    .venv/bin/python devtools/stack.py --nodes 2      # `make stack NODES=2`: the multi-node topology

With ``--nodes N`` (N ≥ 2) it is the topology of several machines, each part an existing engine: nginx on
the web port in front of N gunicorn processes (passive health checks, static files from STATIC_ROOT, the
app's body limit), N Celery workers, exactly one beat and one relay, and pgbouncer in transaction mode
between every app process and PostgreSQL (``DATABASE_POOLER=transaction``); the Redis cache and the
database sessions are shared by all of them (README, "Production topology").

State and logs live under var/stack/ (logs/<process>.log); stack.env there holds the environment of the
running stack, so `. var/stack/stack.env && .venv/bin/python manage.py shell` talks to the same services.
A child that dies is reported, not restarted: fault tests kill one and watch what the others do, and
restart it themselves (``Stack.child_restart``). On several nodes a web node is stopped or restarted
without an error for any buyer by draining it first (``Stack.web_drain``, ``Stack.web_restart``: nginx
sends it nothing new, then SIGTERM); SIGUSR1 to the stack restarts every web node so, one at a time.

The pieces are importable for tests (``free_port``, ``spawn``, ``RedisServer``, ``Stack``), e.g. a fixture
that starts a Redis of its own, kills it and starts it again:

    with RedisServer(free_port(), tmp_path, persistent=True) as broker:
        settings.CELERY_BROKER_URL = broker.url()
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PYTHON = sys.executable

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/marketplace_stack"
# The webhook path is marketplace/urls.py's "payments/" + marketplace/payments/urls.py's "stripe/webhook/".
WEBHOOK_PATH = "/payments/stripe/webhook/"
# What the production endpoint subscribes to (README, "Production topology"); localstripe is told the same.
WEBHOOK_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "charge.refunded",
    "refund.updated",
)
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "psql"}
# Stopped tier by tier (a process's role is its name without the node number: web-2 → web): the app
# processes first (the worker still reaches the broker to requeue what it cannot finish, the web processes
# finish their requests), then the proxy, the pooler and localstripe, the two Redis last.
STOP_TIERS = (
    ("relay", "beat", "worker", "web"),
    ("nginx", "pgbouncer", "localstripe"),
    ("redis-cache", "redis-broker"),
)
# How long gunicorn lets a request in flight finish after SIGTERM (--graceful-timeout), and the Celery
# worker its running tasks (warm shutdown) before the stack stops waiting.
WEB_GRACE_SECONDS = 10
WORKER_GRACE_SECONDS = 30
# How long a drained web node keeps serving before it is stopped: nginx chooses a request's node when it
# has read the headers, so a request whose body was still arriving when the drain began may reach it
# later; it is accepted and answered, as the node still accepts until SIGTERM.
DRAIN_QUIET_SECONDS = 1.0


class StackError(Exception):
    """Something the stack needs is missing or did not come up; the message says what to do."""


class StopRequested(Exception):
    """Raised by the SIGTERM/SIGHUP handler so startup and supervision unwind through the same cleanup."""


def say(text: str = "") -> None:
    """The stack's own output (the children write to their logs); flushed, as make may pipe it."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def free_port() -> int:
    """A TCP port nothing listens on at the moment (the OS picks it), for tests that start their own
    services side by side with a running stack."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether we could listen on ``port``: checked up front, so a leftover process is named at once
    instead of surfacing as a child that dies with "address already in use"."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def accept_queue(port: int) -> int | None:
    """Connections the kernel completed for the socket listening on 127.0.0.1:``port`` that no process has
    accepted yet (Linux: a listening socket's rx_queue in /proc/net/tcp is its accept queue); None when
    nothing listens there. A gunicorn that got SIGTERM accepts none of them, and they are reset when it
    exits: after nginx has sent them a request, so a POST among them is answered 502."""
    address = f"{int.from_bytes(socket.inet_aton(HOST), sys.byteorder):08X}:{port:04X}"
    with open("/proc/net/tcp") as table:  # noqa: PTH123  (a kernel table, read line by line)
        for line in table:
            fields = line.split()
            if fields[1] == address and fields[3] == "0A":  # 0A: LISTEN
                return int(fields[4].split(":")[1], 16)
    return None


def http_status(url: str, *, timeout: float = 5) -> int | None:
    """The status of a GET on one of our own loopback servers, None when nothing answers."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or HOST, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def shown(path: Path) -> str:
    """A path as printed: relative to the checkout when inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def redacted(url: str) -> str:
    """A URL fit to print: its password, if any, replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def exit_status(returncode: int | None) -> str:
    """How a process ended, as a person reads it ("killed by SIGKILL" rather than "-9")."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


def tail(path: Path, lines: int = 30) -> str:
    """The end of a log, to show beside a failure without sending anyone looking for the file."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


@dataclass
class Child:
    """A process started by ``spawn``: the leader of its own process group, so stopping it also stops
    whatever it forked (gunicorn's workers, Celery's pool) and nothing is left behind."""

    name: str
    process: subprocess.Popen
    log: Path
    port: int | None = None
    reported: bool = field(default=False, repr=False)
    argv: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, repr=False)
    log_start: int = 0  # where this run's output begins in ``log`` (a restart appends to it)
    # Its own clean shutdown: SIGTERM for most; nginx finishes its requests on SIGQUIT, pgbouncer waits
    # for its server connections on SIGINT (SIGTERM is their immediate exit).
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def role(self) -> str:
        """What the process is, without its node number: ``web-2`` → ``web``."""
        return re.sub(r"-\d+$", "", self.name)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        """This run's output (a restarted child's log also holds the runs before)."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as handle:
            handle.seek(self.log_start)
            return handle.read().decode(errors="replace")

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the whole process group. Its id cannot be reused while any member lives, so
        this never reaches a stranger."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def group_alive(self) -> bool:
        """Whether any process of the group remains (the leader may be gone, a forked child not)."""
        if self.alive():
            return True
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # a member changed user: still there
            return True
        return True

    def stop(self, *, timeout: float = 20, hurry: threading.Event | None = None) -> int | None:
        """``stop_signal`` (SIGTERM) to the leader only, which shuts down its own way (gunicorn's master
        lets its workers finish their requests, Celery's main process waits for the pool's running tasks,
        Redis writes its append-only file): SIGTERM sent to a Celery pool process directly would kill its
        task mid-way.
        When the leader is gone, or after ``timeout``, or at once when ``hurry`` is set, what is left of
        the group gets SIGTERM, then SIGKILL. Returns the leader's exit code."""

        def wait(running: Callable[[], bool], seconds: float) -> bool:
            deadline = time.monotonic() + seconds
            while running():
                if time.monotonic() > deadline or (hurry is not None and hurry.is_set()):
                    return False
                time.sleep(0.1)
            return True

        if self.alive():
            self.process.send_signal(self.stop_signal)
            wait(self.alive, timeout)
        if self.group_alive():
            self.signal(signal.SIGTERM)
            if not wait(self.group_alive, 2):
                self.signal(signal.SIGKILL)
                wait(self.group_alive, 5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        return self.process.returncode


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: dict[str, str],
    log: Path,
    port: int | None = None,
    cwd: Path = REPO,
    append: bool = False,
) -> Child:
    """Start ``argv`` in a new session (its own process group: Ctrl-C in the terminal reaches only the
    stack, which then stops its children in order), output to ``log`` (truncated: one run per log;
    ``append`` for a restart, which keeps what the dead run wrote)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log_start = log.stat().st_size if append and log.exists() else 0
    with log.open("ab" if append else "wb") as out:
        process = subprocess.Popen(  # noqa: S603  (our own argv, no shell)
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(
        name=name, process=process, log=log, port=port, argv=tuple(argv), env=env, log_start=log_start
    )


def wait_until(
    ready: Callable[[], bool], *, what: str, child: Child | None = None, timeout: float = 60
) -> None:
    """Poll ``ready`` until it holds; fail early, with the log's end, when ``child`` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while not ready():
        if child is not None and not child.alive():
            raise StackError(
                f"{what} {exit_status(child.process.returncode)}; {child.log}:\n{tail(child.log)}"
            )
        if time.monotonic() > deadline:
            where = f"; {child.log}:\n{tail(child.log)}" if child else ""
            raise StackError(f"{what} not ready after {timeout:.0f} s{where}")
        time.sleep(0.2)


class RedisServer:
    """A ``redis-server`` of our own on 127.0.0.1.

    ``persistent=True`` is a broker: append-only file in ``directory`` (a message survives a restart) and
    ``noeviction`` (a full Redis refuses writes rather than drop a queued task). ``persistent=False`` is a
    cache: nothing written to disk and least-recently-used keys evicted at ``maxmemory``.
    """

    def __init__(
        self,
        port: int,
        directory: Path,
        *,
        persistent: bool,
        name: str = "redis",
        log: Path | None = None,
        maxmemory: str = "256mb",
    ) -> None:
        self.port = port
        self.directory = Path(directory)
        self.persistent = persistent
        self.name = name
        self.log = log or self.directory / "redis.log"
        self.maxmemory = maxmemory
        self.child: Child | None = None

    def url(self, db: int = 0, scheme: str = "redis") -> str:
        return f"{scheme}://{HOST}:{self.port}/{db}"

    def argv(self) -> list[str]:
        executable = shutil.which("redis-server")
        if executable is None:
            raise StackError("redis-server is not installed: apt-get install redis-server")
        argv = [
            executable,
            "--bind", HOST,
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--dir", str(self.directory),
            "--logfile", "",
        ]  # fmt: skip
        if self.persistent:
            return [*argv, "--appendonly", "yes", "--maxmemory-policy", "noeviction"]
        return [
            *argv,
            "--save", "",
            "--appendonly", "no",
            "--maxmemory", self.maxmemory,
            "--maxmemory-policy", "allkeys-lru",
        ]  # fmt: skip

    def is_up(self) -> bool:
        """Answers PING (not while it is still loading its append-only file)."""
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, *, timeout: float = 15) -> Child:
        if not port_is_free(self.port):
            raise StackError(f"{self.name}: port {self.port} is taken (`pgrep -af redis-server`)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.child = spawn(self.name, self.argv(), env=dict(os.environ), log=self.log, port=self.port)
        try:
            wait_until(self.is_up, what=self.name, child=self.child, timeout=timeout)
        except BaseException:
            self.stop()  # a fixture's __exit__ does not run when __enter__ fails
            raise
        return self.child

    def stop(self, *, timeout: float = 20) -> None:
        """Redis's own shutdown (SIGTERM): a broker fsyncs its append-only file first."""
        if self.child is not None:
            self.child.stop(timeout=timeout)

    def kill(self) -> None:
        """A crash (SIGKILL): what a fault test uses to lose the instance without a clean shutdown."""
        if self.child is not None:
            self.child.signal(signal.SIGKILL)
            self.child.process.wait(timeout=10)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def database_ensure(database_url: str, *, timeout: float = 10) -> bool:
    """Create the database of ``database_url`` when missing (connected to the ``postgres`` database).
    True when it is new: created now, or never migrated (a first start that failed half-way), so the
    caller knows to load the demo data."""
    parts = urlsplit(database_url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise StackError(f"make stack runs on PostgreSQL; DATABASE_URL is {parts.scheme}://…")
    name = parts.path.lstrip("/")
    if not name:
        raise StackError("DATABASE_URL names no database")
    # libpq reads postgresql:// URLs; Django's other spellings (pgsql://, psql://) are the same server.
    maintenance = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = psycopg.connect(maintenance, autocommit=True, connect_timeout=3)
            break
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                raise StackError(
                    f"PostgreSQL is not reachable at {parts.hostname}:{parts.port or 5432} ({error}); "
                    "start it (pg_ctlcluster <version> main start) or set DATABASE_URL"
                ) from error
            time.sleep(0.5)
    with connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    database = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    with psycopg.connect(database, connect_timeout=3) as connection:
        migrated = connection.execute("SELECT to_regclass('django_migrations')").fetchone()
    return migrated is None or migrated[0] is None


def manage(args: Sequence[str], *, env: dict[str, str], log: Path) -> None:
    """Run a management command to its end, output to ``log``; a failure stops the stack's start."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(  # noqa: S603  (our own argv, no shell)
            [PYTHON, "manage.py", *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise StackError(f"manage.py {' '.join(args)} failed ({done.returncode}); {log}:\n{tail(log)}")


def command_exists(name: str, *, env: dict[str, str]) -> bool:
    """Whether ``manage.py <name>`` is a command of this checkout (``help`` exits non-zero otherwise)."""
    done = subprocess.run(  # noqa: S603  (our own argv, no shell)
        [PYTHON, "manage.py", "help", name], cwd=REPO, env=env, capture_output=True, check=False
    )
    return done.returncode == 0


def setting(name: str, *, env: dict[str, str]) -> str:
    """One value of marketplace.settings as the app processes will see it (their environment and .env)."""
    done = subprocess.run(  # noqa: S603  (our own argv, no shell)
        [PYTHON, "-c", f"import marketplace.settings as s; print(s.{name})"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise StackError(f"could not read settings.{name}:\n{done.stderr}")
    return done.stdout.strip()


def localstripe_argv(port: int, data: Path, *, from_scratch: bool = False) -> list[str]:
    """The command that runs localstripe through its wrapper (loopback, its own data file): the stack's,
    the payment tests' and the checkout profiler's."""
    return [
        PYTHON, str(REPO / "devtools" / "localstripe_server.py"),
        "--port", str(port),
        "--data", str(data),
        *(["--from-scratch"] if from_scratch else []),
    ]  # fmt: skip


def localstripe_webhook_register(stripe_base: str, *, url: str, secret: str, events: Sequence[str]) -> None:
    """Tell localstripe where to deliver signed events (its ``/_config/webhooks/<id>`` route): the part
    Stripe's dashboard does in production. localstripe keeps webhooks in memory, so every start does it."""
    parts = urlsplit(stripe_base)
    connection = http.client.HTTPConnection(parts.hostname or HOST, parts.port or 80, timeout=10)
    try:
        body = json.dumps({"url": url, "secret": secret, "events": list(events)})
        connection.request(
            "POST", "/_config/webhooks/marketplace", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != HTTPStatus.OK:
        raise StackError(f"localstripe refused the webhook registration ({response.status})")


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (each socket is held until all are chosen, so none is picked twice)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def program(name: str, *, package: str) -> str:
    """The path of a program from a Debian package; /usr/sbin (nginx, pgbouncer) is not on every PATH."""
    found = shutil.which(name) or next(
        (str(path) for path in (Path("/usr/sbin") / name, Path("/usr/local/sbin") / name) if path.exists()),
        None,
    )
    if found is None:
        raise StackError(f"{name} is not installed: apt-get install {package}")
    return found


def url_through(database_url: str, *, port: int) -> str:
    """``database_url`` with its server replaced by a local pooler on ``port`` (same user, database)."""
    parts = urlsplit(database_url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{HOST}:{port}" if credentials else f"{HOST}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def pgbouncer_user() -> str | None:
    """Whom pgbouncer runs as: the current user, unless that is root (which pgbouncer refuses): then
    ``postgres`` (or ``nobody``), who is given its files."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    raise StackError("running as root, pgbouncer needs a user to switch to (postgres or nobody)")


def pgbouncer_write(directory: Path, *, port: int, database_url: str) -> Path:
    """pgbouncer's ini and userlist for the one database of ``database_url``, in transaction mode: a
    server connection is lent to a client for one transaction, so PostgreSQL holds a few dozen
    connections however many app processes and threads there are. Returns the ini."""
    parts = urlsplit(database_url)
    name, user = parts.path.lstrip("/"), parts.username or "postgres"
    directory.mkdir(parents=True, exist_ok=True)
    userlist = directory / "userlist.txt"
    # Loopback and the database's own trust: the password, if any, is what pgbouncer logs in with.
    userlist.write_text(f'"{user}" "{parts.password or ""}"\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        f"""; Written by devtools/stack.py for this run.
[databases]
; The server's time zone as Django wants it, so no connection ever runs a session-level SET TIME ZONE.
{name} = host={parts.hostname or HOST} port={parts.port or 5432} dbname={name} timezone=UTC

[pgbouncer]
listen_addr = {HOST}
listen_port = {port}
unix_socket_dir =
auth_type = {"md5" if parts.password else "trust"}
auth_file = {userlist}
admin_users = {user}
stats_users = {user}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
ignore_startup_parameters = extra_float_digits
logfile =
pidfile =
"""
    )
    run_as = pgbouncer_user()
    if run_as is not None:  # it reads its files again on SIGHUP, after switching user
        directory.chmod(0o755)
        account = pwd.getpwnam(run_as)
        for path in (ini, userlist):
            os.chown(path, account.pw_uid, account.pw_gid)
            path.chmod(0o600)
    return ini


def pgbouncer_argv(ini: Path) -> list[str]:
    run_as = pgbouncer_user()
    return [program("pgbouncer", package="pgbouncer"), *(["-u", run_as] if run_as else []), str(ini)]


def nginx_write(
    directory: Path,
    *,
    port: int,
    upstreams: Sequence[int],
    static_root: Path,
    body_limit: int,
    access_log: Path,
) -> Path:
    """nginx as the site's reverse proxy: static files from STATIC_ROOT, the rest to the gunicorn
    processes. Passive health checks (``max_fails``): a process that refuses a connection or fails
    mid-request is left out for ``fail_timeout``, and an idempotent request it failed is retried on the
    next; a POST that reached one is never sent again (nginx's default; the checkout is not replayed).
    Bodies above the app's largest limit are refused here, before they take a web process.

    Draining: while the file ``drain/web-<i>`` exists beside the config, nginx sends no new request to
    node i (``Stack.web_drain``). Each request picks its upstream block by the drain files it finds, so
    taking a node out needs no reload: a reload closes the idle keep-alive connections of the buyers'
    browsers, and one that sends its next request at that moment gets an error (measured: 31 of 15,578
    requests of 8 keep-alive clients over 60 reloads). One block per set of drained nodes that leaves
    one in service; with every node drained, all of them serve."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "drain").mkdir(exist_ok=True)
    for left in (directory / "drain").iterdir():  # a drain a previous run did not finish
        left.unlink()
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / temp).mkdir(exist_ok=True)
    # nginx started as root runs its workers as `user`; as the current user they read STATIC_ROOT.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    mime = Path("/etc/nginx/mime.types")
    nodes = range(1, len(upstreams) + 1)
    pools = []
    for drained in itertools.chain.from_iterable(
        itertools.combinations(nodes, count) for count in range(len(upstreams) + 1)
    ):
        serving = [port for node, port in zip(nodes, upstreams, strict=True) if node not in drained]
        serving = serving or list(upstreams)
        servers = "\n".join(f"        server {HOST}:{p} max_fails=1 fail_timeout=5s;" for p in serving)
        name = "marketplace_web" + "".join(f"_{node}" for node in drained)
        pools.append(f"    upstream {name} {{\n{servers}\n    }}\n")
    drain_checks = "\n".join(
        f"            if (-f {directory / 'drain' / f'web-{node}'}) "
        f'{{ set $web_drained "${{web_drained}}_{node}"; }}'
        for node in nodes
    )
    conf = directory / "nginx.conf"
    conf.write_text(
        f"""# Written by devtools/stack.py for this run.
{user}
worker_processes 1;
pid {directory / "nginx.pid"};
error_log stderr warn;
events {{ worker_connections 1024; }}

http {{
    {f"include {mime};" if mime.exists() else ""}
    default_type application/octet-stream;
    log_format upstream '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                        'upstream=$upstream_addr upstream_status=$upstream_status '
                        'rt=$request_time urt=$upstream_response_time';
    access_log {access_log} upstream;
    client_body_temp_path {directory / "client_body"};
    proxy_temp_path {directory / "proxy"};
    fastcgi_temp_path {directory / "fastcgi"};
    uwsgi_temp_path {directory / "uwsgi"};
    scgi_temp_path {directory / "scgi"};
    sendfile on;
    server_tokens off;
    # The largest body any view takes (REQUEST_BODY_LIMITS); each view's own limit is the app's.
    client_max_body_size {body_limit};

    # marketplace_web: every node; marketplace_web_2: all but node 2 (drained); and so on.
{"".join(pools)}
    server {{
        listen {HOST}:{port};
        server_name _;

        location /static/ {{
            alias {static_root}/;
            expires 1h;
        }}

        location / {{
            # The drained nodes, "_2" for drain/web-2: a stat() per node and request, no reload.
            set $web_drained "";
{drain_checks}
            proxy_pass http://marketplace_web$web_drained;
            proxy_set_header Host $http_host;
            # The app believes X-Forwarded-For only from TRUSTED_PROXIES (this proxy's address), and
            # X-Forwarded-Proto only in production (SECURE_PROXY_SSL_HEADER), where this is https.
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout http_502 http_504;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""
    )
    return conf


def nginx_argv(conf: Path) -> list[str]:
    return [
        program("nginx", package="nginx"),
        "-p", str(conf.parent),
        "-c", str(conf),
        "-e", "stderr",  # not the compiled-in /var/log/nginx/error.log
        "-g", "daemon off;",
    ]  # fmt: skip


def settings_read(names: Sequence[str], *, env: dict[str, str]) -> dict[str, Any]:
    """Values of marketplace.settings as the app processes will see them, in one interpreter."""
    code = (
        "import json, marketplace.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}, default=str))"
    )
    done = subprocess.run(  # noqa: S603  (our own argv, no shell)
        [PYTHON, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StackError(f"could not read settings {', '.join(names)}:\n{done.stderr}")
    return json.loads(done.stdout)


def database_answers(database_url: str) -> bool:
    try:
        with psycopg.connect(
            urlunsplit(urlsplit(database_url)._replace(scheme="postgresql")), connect_timeout=2
        ) as connection:
            return connection.execute("SELECT 1").fetchone() == (1,)
    except psycopg.Error:
        return False


@dataclass(frozen=True)
class StackConfig:
    """Where everything listens and lives; the defaults stay clear of `make demo` (8000, 8420) and of the
    machine's own Redis (6379)."""

    var_dir: Path
    database_url: str
    web_port: int = 8010
    broker_port: int = 6390
    cache_port: int = 6391
    stripe_port: int = 8421
    workers: int = 2
    threads: int = 4
    demo: bool | None = None  # None: load the demo data only into a new database
    nodes: int = 1  # 2 or more: nginx in front of that many gunicorns, as many Celery workers, pgbouncer
    concurrency: int = 2  # pool processes per Celery worker
    migrate: bool = True  # False: a database made ready elsewhere (a test's): no migrate, no demo data
    # Added to the app processes' environment, over the stack's own (a test's shorter redelivery, …).
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def multi(self) -> bool:
        return self.nodes > 1

    @property
    def logs(self) -> Path:
        return self.var_dir / "logs"

    @property
    def web_url(self) -> str:
        return f"http://{HOST}:{self.web_port}/"

    @property
    def stripe_url(self) -> str:
        return f"http://{HOST}:{self.stripe_port}"


def app_environment(config: StackConfig, *, webhook_secret: str) -> dict[str, str]:
    """What every app process (web, worker, beat, relay, management commands) is configured with."""
    return {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": config.database_url,
        "CELERY_BROKER_URL": f"redis://{HOST}:{config.broker_port}/0",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_URL": f"rediscache://{HOST}:{config.cache_port}/0",
        "VAR_DIR": str(config.var_dir),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(config.var_dir / "mail"),
        "STRIPE_API_BASE": config.stripe_url,
        "STRIPE_JS_URL": f"{config.stripe_url}/js.stripe.com/v3/",
        "STRIPE_SECRET_KEY": "sk_test_stack",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_stack",
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "PYTHONUNBUFFERED": "1",
    }


class Stack:
    """Starts the topology in dependency order, supervises it, stops it tier by tier."""

    def __init__(self, config: StackConfig) -> None:
        if config.nodes < 1:
            raise StackError(f"--nodes must be 1 or more, not {config.nodes}")
        self.config = config
        self.children: list[Child] = []
        self.missing: list[tuple[str, str]] = []  # (process, why it is not running)
        self.hurry = threading.Event()
        self.rolling_restart = threading.Event()  # set by SIGUSR1: supervise() restarts the web nodes
        self.env_file = config.var_dir / "stack.env"
        self.webhook_secret = "whsec_" + secrets.token_hex(16)
        # One node: gunicorn itself on the web port. Several: nginx there, the gunicorns on free ports,
        # and pgbouncer on another in front of PostgreSQL.
        if config.multi:
            *self.web_ports, self.pooler_port = free_ports(config.nodes + 1)
        else:
            self.web_ports, self.pooler_port = [config.web_port], 0
        self.app_env = app_environment(config, webhook_secret=self.webhook_secret)
        if config.multi:
            self.app_env.update(
                {
                    "DATABASE_URL": url_through(config.database_url, port=self.pooler_port),
                    "DATABASE_POOLER": "transaction",
                    # The proxy's address: the visitor's is then read from X-Forwarded-For.
                    "TRUSTED_PROXIES": HOST,
                }
            )
        self.app_env.update(config.environment)
        self.env = {**os.environ, **self.app_env}
        # Migrations and the demo data go to PostgreSQL itself, not through the pooler.
        self.direct_env = {**self.env, "DATABASE_URL": config.database_url}
        self.direct_env.pop("DATABASE_POOLER", None)

    def log(self, name: str) -> Path:
        return self.config.logs / f"{name}.log"

    def node_name(self, role: str, node: int) -> str:
        """``web`` on one node (the names `make stack` always had), ``web-1``, ``web-2`` … on several."""
        return f"{role}-{node}" if self.config.multi else role

    def start(self) -> None:
        config = self.config
        if config.multi:  # before anything starts: say at once what is missing
            program("nginx", package="nginx")
            program("pgbouncer", package="pgbouncer")
        busy = [
            f"{port} ({what})"
            for what, port in (
                ("web", config.web_port),
                ("redis-broker", config.broker_port),
                ("redis-cache", config.cache_port),
                ("localstripe", config.stripe_port),
                *(("gunicorn", port) for port in self.web_ports if config.multi),
                *((("pgbouncer", self.pooler_port),) if config.multi else ()),
            )
            if not port_is_free(port)
        ]
        if busy:
            raise StackError(
                f"ports in use: {', '.join(busy)} (another `make stack`? `ss -ltnp` names who listens)"
            )
        config.logs.mkdir(parents=True, exist_ok=True)
        (config.var_dir / "mail").mkdir(parents=True, exist_ok=True)

        # Two instances, not two databases of one: the broker must never evict a message and must survive
        # a restart, the cache may evict and lose everything, and either can go down alone.
        for name, port, persistent in (
            ("redis-broker", config.broker_port, True),
            ("redis-cache", config.cache_port, False),
        ):
            server = RedisServer(
                port, config.var_dir / name, persistent=persistent, name=name, log=self.log(name)
            )
            try:
                server.start()
            finally:
                if server.child is not None:
                    self.children.append(server.child)
            say(f"  {name:<13} up on {server.url()}")

        new = database_ensure(config.database_url)
        say(f"  {'postgresql':<13} {redacted(config.database_url)}{'  (new)' if new else ''}")
        if config.multi:
            ini = pgbouncer_write(
                config.var_dir / "pgbouncer", port=self.pooler_port, database_url=config.database_url
            )
            pooler = self.spawn("pgbouncer", pgbouncer_argv(ini), port=self.pooler_port)
            pooler.stop_signal = signal.SIGINT
            wait_until(lambda: database_answers(self.app_env["DATABASE_URL"]), what="pgbouncer", child=pooler)
            say(f"  {'pgbouncer':<13} up on {HOST}:{self.pooler_port} (transaction mode)")

        stripe = self.spawn(
            "localstripe",
            localstripe_argv(config.stripe_port, config.var_dir / "localstripe.pickle"),
            port=config.stripe_port,
        )
        wait_until(
            lambda: http_status(f"{config.stripe_url}/v1/customers") is not None,
            what="localstripe",
            child=stripe,
        )
        localstripe_webhook_register(
            config.stripe_url,
            url=f"http://{HOST}:{config.web_port}{WEBHOOK_PATH}",
            secret=self.webhook_secret,
            events=WEBHOOK_EVENTS,
        )
        say(f"  {'localstripe':<13} up on {config.stripe_url}, webhook → :{config.web_port}{WEBHOOK_PATH}")

        if config.migrate:
            say("  migrate …")
            manage(["migrate", "--noinput"], env=self.direct_env, log=self.log("migrate"))
            if config.demo or (config.demo is None and new):
                say("  demo_load …")
                manage(["demo_load"], env=self.direct_env, log=self.log("demo_load"))
        if config.multi:
            # nginx serves them from STATIC_ROOT; links, not copies (seconds, not tens of them).
            manage(
                ["collectstatic", "--noinput", "--link", "-v0"], env=self.env, log=self.log("collectstatic")
            )
        self.env_file.write_text(
            "".join(f"export {key}={shlex.quote(value)}\n" for key, value in sorted(self.app_env.items()))
        )

        self.start_apps()

    def start_apps(self) -> None:
        """Web, worker, beat and relay start side by side (each takes seconds to import Django), then
        each is waited for; with several nodes, nginx in front of the web processes."""
        config = self.config
        queue = setting("CELERY_TASK_DEFAULT_QUEUE", env=self.env)
        webs = [
            self.spawn(self.node_name("web", node), self.web_argv(node, port), port=port)
            for node, port in enumerate(self.web_ports, start=1)
        ]
        workers = [
            self.spawn(self.node_name("worker", node), self.worker_argv(node, queue))
            for node in range(1, config.nodes + 1)
        ]
        # Exactly one beat, whatever the number of nodes: two would send every periodic task twice.
        beat = self.spawn(
            "beat",
            [
                PYTHON, "-m", "celery", "-A", "marketplace", "beat", "-l", "info",
                "--schedule", str(config.var_dir / "celerybeat-schedule"),
            ],
        )  # fmt: skip
        relay: Child | None = None
        if command_exists("outbox_relay", env=self.env):
            relay = self.spawn("relay", [PYTHON, "manage.py", "outbox_relay"])
        else:
            self.missing.append(("relay", "manage.py outbox_relay does not exist in this checkout yet"))
            say("  WARNING: no manage.py outbox_relay in this checkout: the relay is not running")
        if config.multi:
            found = settings_read(
                ["STATIC_ROOT", "REQUEST_BODY_MAX_BYTES", "REQUEST_BODY_LIMITS"], env=self.env
            )
            limits: dict[str, int] = found["REQUEST_BODY_LIMITS"]
            conf = nginx_write(
                config.var_dir / "nginx",
                port=config.web_port,
                upstreams=self.web_ports,
                static_root=Path(str(found["STATIC_ROOT"])),
                body_limit=max([int(found["REQUEST_BODY_MAX_BYTES"]), *map(int, limits.values())]),
                access_log=self.log("nginx-access"),
            )
            self.spawn("nginx", nginx_argv(conf), port=config.web_port).stop_signal = signal.SIGQUIT

        for child in [*webs, *workers, beat, *([relay] if relay else [])]:
            self.ready_wait(child)
        for child in self.children:
            if child.role == "nginx":
                self.ready_wait(child)

    def web_argv(self, node: int, port: int) -> list[str]:
        config = self.config
        # Not the shared ~/.gunicorn/gunicorn.ctl another gunicorn on the machine also wants.
        control = config.var_dir / (f"gunicorn-{node}.ctl" if config.multi else "gunicorn.ctl")
        return [
            PYTHON, "-m", "gunicorn", "marketplace.wsgi",
            "--bind", f"{HOST}:{port}",
            "--workers", str(config.workers),
            "--threads", str(config.threads),
            # SIGTERM: stop accepting, let the requests in flight finish for up to this long.
            "--graceful-timeout", str(WEB_GRACE_SECONDS),
            "--access-logfile", "-",
            "--control-socket", str(control),
        ]  # fmt: skip

    def worker_argv(self, node: int, queue: str) -> list[str]:
        """A Celery worker; SIGTERM is its warm shutdown (running tasks finish, then it exits)."""
        config = self.config
        # One name per worker on several nodes (the default, celery@host, would be the same for all).
        name = ["-n", f"worker{node}@%h"] if config.multi else []
        return [
            PYTHON, "-m", "celery", "-A", "marketplace", "worker", "-l", "info",
            "-Q", queue,
            "--concurrency", str(config.concurrency),
            *name,
        ]  # fmt: skip

    def ready_wait(self, child: Child) -> None:
        """Wait until ``child`` serves: a web process answers (its readiness probe on several nodes:
        database, cache and broker reached), a worker says it is ready, nginx passes a probe through."""
        config = self.config
        if child.role == "web":
            url = f"http://{HOST}:{child.port}/" + ("readyz" if config.multi else "")
            wait_until(
                lambda: http_status(url, timeout=30) == HTTPStatus.OK,
                what=f"{child.name} (GET {url})",
                child=child,
            )
        elif child.role == "worker":
            wait_until(
                lambda: re.search(r"\S+@\S+ ready\.", child.log_text()) is not None,
                what=child.name,
                child=child,
            )
        elif child.role == "beat":
            wait_until(lambda: "beat: Starting" in child.log_text(), what="beat", child=child)
        elif child.role == "relay":
            # It prints "outbox relay ready" before its first poll.
            wait_until(lambda: "ready" in child.log_text(), what="relay", child=child)
        elif child.role == "nginx":
            url = f"{config.web_url}healthz"
            wait_until(lambda: http_status(url) == HTTPStatus.OK, what=f"nginx (GET {url})", child=child)

    def child_restart(self, *names: str) -> list[Child]:
        """Start the processes ``names`` again as they were started (argv, environment, port; their logs
        go on), once they are gone (a test killed or stopped them), side by side, and wait until each
        serves. A web node behind nginx is kept out of its rotation until it answers ``/readyz``
        (gunicorn listens before its workers have loaded Django), then put back."""
        started = []
        for name in names:
            old = self.child(name)
            if old.group_alive():
                raise StackError(f"{name} (pid {old.pid}) still runs: stop or kill it first")
            old.process.wait(timeout=5)
            if self.config.multi and old.role == "web":
                self.drain_file(name).touch()
            new = spawn(name, old.argv, env=old.env, log=old.log, port=old.port, append=True)
            new.stop_signal = old.stop_signal
            self.children[self.children.index(old)] = new
            started.append(new)
        for child in started:
            self.ready_wait(child)
            if self.config.multi and child.role == "web":
                self.web_undrain(child.name)
        return started

    def child(self, name: str) -> Child:
        found = next((child for child in self.children if child.name == name), None)
        if found is None:
            raise StackError(f"no process {name} in this stack ({', '.join(c.name for c in self.children)})")
        return found

    def drain_file(self, name: str) -> Path:
        """While it exists, nginx sends web node ``name`` no new request (``nginx_write``)."""
        return self.config.var_dir / "nginx" / "drain" / name

    def web_drain(self, name: str, *, quiet: float = DRAIN_QUIET_SECONDS) -> None:
        """Take web node ``name`` out of nginx's rotation, the first step of stopping it without an error
        for anyone: from now on nginx sends new requests to the other nodes; after ``quiet`` seconds (for
        a connection nginx was opening to it as the drain began), wait until the kernel holds no
        connection for it that gunicorn has not accepted. Then SIGTERM lets it finish what it accepted
        and exit, and nothing reaches it any more (those connections would be reset when it exits, a
        POST among them answered 502 by nginx: it cannot send a request that may have been handled to
        another node)."""
        web = self.child(name)
        if not self.config.multi or web.role != "web" or web.port is None:
            raise StackError(f"only a web node behind nginx (--nodes 2 or more) can be drained, not {name}")
        serving = [
            child
            for child in self.children
            if child.role == "web"
            and child is not web
            and child.alive()
            and not self.drain_file(child.name).exists()
        ]
        if not serving:
            raise StackError(f"{name} is the last web node in nginx's rotation: nothing would serve")
        self.drain_file(name).touch()
        time.sleep(quiet)
        wait_until(
            lambda: not accept_queue(web.port or 0),
            what=f"{name}'s accept queue to empty",
            child=web,
            timeout=30,
        )

    def web_undrain(self, name: str) -> None:
        """Put web node ``name`` back in nginx's rotation (the next request may go to it)."""
        self.drain_file(name).unlink(missing_ok=True)

    def web_restart(self, name: str) -> Child:
        """Restart web node ``name`` with no error for any buyer: drained (``web_drain``), stopped by
        SIGTERM (it finishes the requests it holds, up to ``WEB_GRACE_SECONDS``), started again, and put
        back in nginx's rotation once it answers ``/readyz``."""
        self.web_drain(name)
        self.stop_child(self.child(name))
        return self.child_restart(name)[0]

    def web_rolling_restart(self) -> None:
        """Every web node restarted in turn (``web_restart``), the others serving meanwhile: a deploy."""
        if not self.config.multi:
            say("  a rolling restart needs nginx in front (--nodes 2 or more); nothing restarted")
            return
        for name in [child.name for child in self.children if child.role == "web"]:
            say(f"  rolling restart: {name} drained, stopped, started …")
            new = self.web_restart(name)
            say(f"  rolling restart: {name} back in rotation (pid {new.pid})")

    def spawn(self, name: str, argv: Sequence[str], *, port: int | None = None) -> Child:
        child = spawn(name, argv, env=self.env, log=self.log(name), port=port)
        self.children.append(child)
        return child

    def summary(self) -> str:
        """What runs where: one row per process, then how to reach the rest."""
        config = self.config
        where = {
            "redis-broker": f"redis://{HOST}:{config.broker_port}/0",
            "redis-cache": f"redis://{HOST}:{config.cache_port}/0",
            "localstripe": config.stripe_url,
            "nginx": f"{config.web_url}  → {', '.join(str(port) for port in self.web_ports)}",
            "pgbouncer": f"{HOST}:{self.pooler_port} → {urlsplit(config.database_url).netloc}",
        }
        for child in self.children:
            if child.role == "web":
                where[child.name] = f"http://{HOST}:{child.port}/"
        rows = [("process", "pid", "listens on", "log")]
        rows += [(c.name, str(c.pid), where.get(c.name, "-"), shown(c.log)) for c in self.children]
        rows += [(name, "-", "NOT RUNNING", why) for name, why in self.missing]
        widths = [max(len(row[column]) for row in rows) + 2 for column in range(3)]
        lines = [
            "".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + row[3]
            for row in rows
        ]
        env_file = shown(self.env_file)
        return "\n".join(
            [
                *lines,
                "",
                f"database       {redacted(config.database_url)}"
                + (
                    f" (the app processes through pgbouncer, {HOST}:{self.pooler_port})"
                    if config.multi
                    else ""
                ),
                f"mail           {shown(config.var_dir / 'mail')}/",
                f"environment    . {env_file}   (manage.py then talks to this stack)",
                f"demo accounts  . {env_file} && .venv/bin/python manage.py demo_accounts",
                "test card      4242 4242 4242 4242 (4000 0000 0000 0341 is declined)",
                *(
                    [
                        f"restart web    kill -USR1 {os.getpid()}   (rolling: each web node drained, "
                        "stopped, started, put back; no request fails)"
                    ]
                    if config.multi
                    else []
                ),
            ]
        )

    def supervise(self) -> None:
        """Watch the children until asked to stop. A death is reported loudly and left as it is: no
        restart, so a fault test sees exactly the failure it caused. A rolling restart of the web nodes
        is done when asked (SIGUSR1)."""
        while True:
            if self.rolling_restart.is_set():
                self.rolling_restart.clear()
                try:
                    self.web_rolling_restart()
                except StackError as error:
                    say(f"!!! rolling restart stopped: {error}")
            for child in self.children:
                if not child.reported and not child.alive():
                    child.reported = True
                    say()
                    say("!" * 100)
                    status = exit_status(child.process.returncode).upper()
                    say(f"!!! {child.name} (pid {child.pid}) {status}; not restarted")
                    say(f"!!! last lines of {child.log}:")
                    say(tail(child.log, 20))
                    say("!" * 100)
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop every child, tier by tier (``STOP_TIERS``), the processes of a tier side by side."""
        tiers = [*STOP_TIERS, tuple(child.role for child in self.children)]  # the last: anything unnamed
        for tier in tiers:
            running = [child for child in self.children if child.role in tier and child.group_alive()]
            if running:
                with ThreadPoolExecutor(max_workers=len(running)) as pool:
                    list(pool.map(self.stop_child, running))
        self.env_file.unlink(missing_ok=True)

    def stop_child(self, child: Child) -> None:
        started = time.monotonic()
        # The worker's warm shutdown waits for the tasks it runs; what still runs after that is requeued
        # (tasks are acked late), not lost.
        timeout = {"worker": WORKER_GRACE_SECONDS, "web": WEB_GRACE_SECONDS + 5}.get(child.role, 15)
        code = child.stop(timeout=timeout, hurry=self.hurry)
        took = time.monotonic() - started
        say(f"  stopped {child.name:<13} (pid {child.pid}) in {took:4.1f} s: {exit_status(code)}")


def parse_args(argv: Sequence[str] | None = None) -> StackConfig:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--web-port", type=int, default=8010)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="web processes and Celery workers; 2 or more puts nginx in front and pgbouncer behind",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per Celery worker")
    parser.add_argument("--broker-port", type=int, default=6390)
    parser.add_argument("--cache-port", type=int, default=6391)
    parser.add_argument("--stripe-port", type=int, default=8421)
    parser.add_argument("--var-dir", type=Path, default=REPO / "var" / "stack")
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="load the demo data even into a database that exists",
    )
    demo.add_argument("--no-demo", dest="demo", action="store_false", help="never load the demo data")
    parser.set_defaults(demo=None)
    args = parser.parse_args(argv)
    return StackConfig(
        var_dir=args.var_dir.resolve(),
        database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        web_port=args.web_port,
        broker_port=args.broker_port,
        cache_port=args.cache_port,
        stripe_port=args.stripe_port,
        workers=args.workers,
        threads=args.threads,
        demo=args.demo,
        nodes=args.nodes,
        concurrency=args.concurrency,
    )


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    stack = Stack(config)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise StopRequested(signal.Signals(signum).name)

    stopping_since = 0.0

    def while_stopping(signum: int, frame: FrameType | None) -> None:
        # A second Ctrl-C, pressed on purpose, kills what is left instead of waiting. A signal that merely
        # arrives twice (make forwards SIGTERM to us, `timeout` and `kill -- -pgid` signal the whole
        # group) must not turn a clean shutdown into SIGKILLs.
        if signum == signal.SIGINT and time.monotonic() - stopping_since > 1:
            stack.hurry.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGUSR1, lambda signum, frame: stack.rolling_restart.set())
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # under nohup, a closed terminal is no stop
        signal.signal(signal.SIGHUP, on_signal)
    say(f"乡味集市 stack: starting under {config.var_dir}")
    code = 0
    try:
        stack.start()
        say()
        say(stack.summary())
        say()
        say(f"乡味集市 stack running on {config.web_url}  (Ctrl-C stops it)")
        stack.supervise()
    except (KeyboardInterrupt, StopRequested):
        say()
    except StackError as error:
        say(f"\nstack: {error}")
        code = 1
    finally:
        stopping_since = time.monotonic()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, while_stopping)
        say("stopping the stack …")
        stack.stop()
        say("stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Liveness (``/healthz``) and readiness (``/readyz``) for the reverse proxy, the process manager and the
stack's start-up (docs/operations.md, "Health checks").

``/healthz`` says the process answers: no database, cache or broker is touched, so a slow database never
makes a supervisor kill healthy web processes. ``/readyz`` says the process can serve: the database
answers ``SELECT 1``, the cache gives back what was just put in it, and the broker (when one is configured)
accepts a connection; otherwise 503 with a JSON body naming each failed check.

Both are answered by ``HealthProbeMiddleware``, first in ``MIDDLEWARE``, before anything else runs: no
session, CSRF, locale, CSP, throttling or SSL redirect, and no ``ALLOWED_HOSTS`` check (a load balancer
probes a node by its address; the answer never uses the Host header). The URL patterns in
``marketplace/urls.py`` name the same views, so ``reverse("healthz")`` works.
"""

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from marketplace.celery import app as celery_app

logger = logging.getLogger(__name__)

PROBE_PATHS = {"/healthz": "healthz", "/readyz": "readyz"}
# How long the broker check may take: a probe that hangs is worse than one that says 503.
BROKER_TIMEOUT_SECONDS = 2.0
_CACHE_KEY = "health:readyz"


@dataclass(frozen=True)
class CheckResult:
    """One dependency's answer: ``ok``, or the kind of error (the message stays in the log: it may name
    hosts and users)."""

    name: str
    ok: bool
    error: str = ""
    milliseconds: float = 0.0


def database_check() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    if row is None or row[0] != 1:
        raise RuntimeError("SELECT 1 did not return 1")


def cache_check() -> None:
    # The Redis cache forgives an outage (a failed read is a miss), so a value read back is the only proof.
    token = secrets.token_hex(8)
    cache.set(_CACHE_KEY, token, timeout=30)
    if cache.get(_CACHE_KEY) != token:
        raise ConnectionError("the cache did not give back the value just set")


def broker_configured() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL.startswith("memory://")


def broker_check() -> None:
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        # Redis connects lazily: a channel's client round-trip proves the server answers.
        client = getattr(broker.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()


def readiness_checks() -> dict[str, Callable[[], None]]:
    """The checks ``/readyz`` runs, by name, in order."""
    checks: dict[str, Callable[[], None]] = {"database": database_check, "cache": cache_check}
    if broker_configured():
        checks["broker"] = broker_check
    return checks


def check_run(name: str, check: Callable[[], None]) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # noqa: BLE001 - any failure of a dependency means "not ready"
        logger.warning("readiness check %s failed: %r", name, error)
        return CheckResult(name, False, type(error).__name__, (time.perf_counter() - started) * 1000)
    return CheckResult(name, True, "", (time.perf_counter() - started) * 1000)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process runs and its request loop answers."""
    return _no_store(JsonResponse({"status": "ok"}))


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when every dependency answers, 503 naming the ones that did not. Checks named in
    ``READYZ_OPTIONAL`` are reported but do not make the answer 503."""
    results = [check_run(name, check) for name, check in readiness_checks().items()]
    optional = set(settings.READYZ_OPTIONAL)
    failed = [result.name for result in results if not result.ok and result.name not in optional]
    body = {
        "status": "unavailable" if failed else "ok",
        "failed": failed,
        "checks": {
            result.name: {"ok": result.ok, "ms": round(result.milliseconds, 1)}
            | ({"error": result.error} if result.error else {})
            for result in results
        },
    }
    return _no_store(JsonResponse(body, status=503 if failed else 200))


PROBE_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {"healthz": healthz, "readyz": readyz}


class HealthProbeMiddleware:
    """Answers the two probe paths before any other middleware runs (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBE_PATHS.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        return PROBE_VIEWS[probe](request)

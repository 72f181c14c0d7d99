"""/healthz answers without touching anything; /readyz answers 503 naming the dependency that is down
(the database, the cache, the broker), with real servers on closed and open loopback ports."""

import json
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse

from devtools.stack import RedisServer, free_port

CLOSED_REDIS_CACHE = {
    "default": {
        "BACKEND": "marketplace.cache.ForgivingRedisCache",
        "LOCATION": "redis://127.0.0.1:{port}/0",
    }
}


def closed_cache() -> dict:
    return {"default": {**CLOSED_REDIS_CACHE["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}


@pytest.fixture
def database_down() -> Iterator[None]:
    """The default connection swapped for one to a database that is not there (a closed port on
    PostgreSQL, a file in a folder that does not exist on SQLite); the test's own connection is kept."""
    original = connections["default"]
    broken = connections.create_connection("default")
    if broken.vendor == "postgresql":
        broken.settings_dict = {**original.settings_dict, "HOST": "127.0.0.1", "PORT": str(free_port())}
    else:
        broken.settings_dict = {**original.settings_dict, "NAME": "/nonexistent-folder/db.sqlite3"}
    connections["default"] = broken
    try:
        yield
    finally:
        connections["default"] = original
        broken.close()


def body(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_the_probe_urls_are_named():
    assert reverse("healthz") == "/healthz"
    assert reverse("readyz") == "/readyz"


@pytest.mark.django_db
def test_healthz_answers_without_a_query_a_cookie_or_a_host_check(django_assert_num_queries):
    client = Client()
    client.cookies["sessionid"] = "x" * 32  # a session cookie is not even looked up
    with django_assert_num_queries(0):
        response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")  # a node's address, not a site host
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies
    assert "Vary" not in response
    assert "Content-Security-Policy" not in response  # no other middleware ran
    # Only the probes skip the host check.
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400


@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_probes_are_not_redirected_to_https_nor_throttled():
    client = Client()
    assert client.get("/").status_code == 301  # the rest of the site is redirected
    statuses = {client.get("/healthz").status_code for _ in range(50)}
    assert statuses == {200}


def test_the_probes_take_get_and_head_only():
    client = Client()
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_200_when_the_database_and_the_cache_answer():
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    answer = body(response)
    assert answer["status"] == "ok"
    assert answer["failed"] == []
    assert set(answer["checks"]) == {"database", "cache"}  # no broker configured: tasks run eagerly
    assert all(check["ok"] for check in answer["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_naming_the_cache_when_redis_does_not_answer():
    with override_settings(CACHES=closed_cache()):
        response = Client().get("/readyz")
    assert response.status_code == 503
    answer = body(response)
    assert answer["status"] == "unavailable"
    assert answer["failed"] == ["cache"]
    assert answer["checks"]["database"]["ok"] is True
    assert answer["checks"]["cache"] == {
        "ok": False,
        "ms": answer["checks"]["cache"]["ms"],
        "error": "ConnectionError",
    }


@pytest.mark.django_db
def test_a_check_named_optional_is_reported_but_keeps_readyz_200():
    with override_settings(CACHES=closed_cache(), READYZ_OPTIONAL=["cache"]):
        response = Client().get("/readyz")
    assert response.status_code == 200
    assert body(response)["checks"]["cache"]["ok"] is False


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_does_not_answer(database_down):
    response = Client().get("/readyz")
    assert response.status_code == 503
    answer = body(response)
    assert answer["failed"] == ["database"]
    assert answer["checks"]["database"]["error"] == "OperationalError"
    assert answer["checks"]["cache"]["ok"] is True
    # Liveness does not depend on the database.
    assert Client().get("/healthz").status_code == 200


@pytest.mark.django_db
def test_readyz_checks_a_configured_broker_and_a_redis_cache_on_real_servers(tmp_path):
    server = RedisServer(free_port(), tmp_path / "redis", persistent=False, name="redis-health")
    redis_up = {
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_BROKER_URL": server.url(0),
        "CACHES": {"default": {**CLOSED_REDIS_CACHE["default"], "LOCATION": server.url(1)}},
    }
    with server, override_settings(**redis_up):
        up = Client().get("/readyz")
        assert up.status_code == 200, up.content
        assert set(body(up)["checks"]) == {"database", "cache", "broker"}
        server.stop()
        down = Client().get("/readyz")
    assert down.status_code == 503
    assert body(down)["failed"] == ["cache", "broker"]

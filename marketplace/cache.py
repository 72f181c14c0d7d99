"""A Redis cache that a cache outage cannot turn into an error page, and the storefront's local-first
cache in front of it.

The cache only ever speeds pages up: when Redis does not answer, a read is a miss, a write is dropped and
the page is rendered from the database (logged, at most once a minute per process). Short socket
timeouts keep a dead cache from holding a request up.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_WARN_EVERY = 60.0
_MISSING = object()


class ClientPerPoolRedisCacheClient(RedisCacheClient):
    """Django's Redis client makes a new ``redis.Redis`` for every operation (its constructor fills a
    table of ~340 response callbacks: a quarter of a cached page's cache time). A ``redis.Redis`` over a
    connection pool is safe to share between threads, so one per pool is kept and reused."""

    # Django's own attributes (not in its type stubs).
    _servers: list[str]
    _pools: dict[int, ConnectionPool]
    _pool_class: type[ConnectionPool]
    _pool_options: dict[str, Any]
    _client: type[Redis]
    _get_connection_pool_index: Callable[[bool], int]

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Redis] = {}

    def get_client(self, key: str | bytes | memoryview | None = None, *, write: bool = False) -> Redis:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # Two threads racing here each make one; the last one kept is as good as the other.
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class ForgivingRedisCache(RedisCache):
    _last_warning = 0.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", 0.25)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, params)
        self._class = ClientPerPoolRedisCacheClient

    def _unavailable(self, operation: str, error: Exception) -> None:
        now = time.monotonic()
        if now - ForgivingRedisCache._last_warning > _WARN_EVERY:
            ForgivingRedisCache._last_warning = now
            logger.warning("cache unavailable (%s: %s): pages render uncached", operation, error)


def _forgiving(operation: str, fallback: object) -> Callable[..., object]:
    """Wrap RedisCache's ``operation`` so that an unreachable Redis gives ``fallback`` instead of raising."""
    original = getattr(RedisCache, operation)

    def method(self: ForgivingRedisCache, *args: Any, **kwargs: Any) -> object:
        try:
            return original(self, *args, **kwargs)
        except UNAVAILABLE as error:
            self._unavailable(operation, error)
            return fallback(*args, **kwargs) if callable(fallback) else fallback

    method.__name__ = operation
    return method


for _operation, _fallback in {
    "get": lambda key, default=None, version=None: default,
    "get_many": {},
    "has_key": False,
    "set": None,
    "set_many": lambda data, timeout=None, version=None: list(data),
    "add": False,
    "touch": False,
    "incr": None,
    "delete": False,
    "delete_many": None,
    "clear": None,
}.items():
    setattr(ForgivingRedisCache, _operation, _forgiving(_operation, _fallback))


class LocalFirstCache(BaseCache):
    """The storefront's fragments and pages: this process's memory first, then the shared cache.

    Every key stored here names the catalogue version it was rendered for (the ``{% cache %}`` tags
    with ``catalogue_version``, ``cached_by_version``, stored pages), so a value under a key never
    changes: a process may keep its own copy for as long as the shared one lives, and a catalogue change
    (a new version, read from the shared cache on every request) moves every process to new keys at
    once. What this saves is a round trip to Redis per fragment: a product page reads six. The only keys
    without a version (the navigation and footer, an hour each) are kept here no longer than there.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = params.get("OPTIONS", {})
        self._shared_alias = options.get("SHARED", "default")
        self._local = LocMemCache(
            f"local-first-{server}",
            {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": options.get("MAX_ENTRIES", 5000)}},
        )

    @property
    def _shared(self) -> BaseCache:
        return caches[self._shared_alias]

    def get(self, key: str, default: object = None, version: int | None = None) -> object:
        found = self._local.get(key, _MISSING, version=version)
        if found is not _MISSING:
            return found
        found = self._shared.get(key, _MISSING, version=version)
        if found is _MISSING:
            return default
        self._local.set(key, found, self.default_timeout, version=version)
        return found

    def set(
        self, key: str, value: object, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        if timeout == 0:  # kept for no time (STOREFRONT_CACHE_SECONDS=0): not sent, and no older copy read
            self.delete(key, version=version)
            return
        self._shared.set(key, value, timeout, version=version)
        self._local.set(
            key, value, timeout if timeout is not DEFAULT_TIMEOUT else self.default_timeout, version=version
        )

    def add(
        self, key: str, value: object, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        added = self._shared.add(key, value, timeout, version=version)
        self._local.delete(key, version=version)
        return added

    def delete(self, key: str, version: int | None = None) -> bool:
        self._local.delete(key, version=version)
        return self._shared.delete(key, version=version)

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._shared.touch(key, timeout, version=version)

    def clear(self) -> None:
        self._local.clear()
        self._shared.clear()

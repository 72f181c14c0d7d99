"""A Redis cache that a cache outage cannot turn into an error page, and the storefront's local-first
cache in front of it.

The cache only ever speeds pages up: when Redis does not answer, a read is a miss, a write is dropped and
the page is rendered from the database (logged, at most once a minute per process). Short socket
timeouts keep a dead cache from holding a request up.
"""

import contextlib
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import ConnectionPool, Redis
from redis.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
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


class WatchedKey:
    """This process's copy of one small key of the shared Redis cache that every request reads (the
    catalogue version), kept current without a round trip per read.

    A thread of the process subscribes to the key's channel; whoever writes the key publishes there
    (``changed``). On a message the thread marks its copy stale, then reads the key again; it also reads it
    at least every ``max_age / 2`` seconds whatever happens, and pings the subscription when it has been
    quiet that long (one that does not answer is made again). ``get`` gives the copy only while it is fresh
    (read within ``max_age``, while subscribed) and no message is waiting on the subscription's socket;
    otherwise ``None``, and the caller reads the shared cache itself, as it did on every request before.
    So a write is seen by every process once its message has reached the process (on one machine, well
    under a millisecond: the version's own bump is delivered by the outbox, seconds at worst), within
    ``max_age`` if a message is lost, and a Redis outage or restart falls back to a read per request until
    the thread has subscribed again."""

    RETRY_SECONDS = 1.0

    def __init__(self, key: str, *, cache: "ForgivingRedisCache", max_age: float = 5.0) -> None:
        self.key = key
        self.cache = cache  # its own client: the thread outlives a request's (and a test's) settings
        self.max_age = max_age
        self.channel = f"watched:{cache.make_key(key)}"
        self._lock = threading.Lock()
        self._pid = 0
        # (value, read at (monotonic), the subscription's socket); replaced whole, never changed in place.
        self._state: tuple[object, float, socket.socket | None] = (_MISSING, 0.0, None)

    def get(self) -> object | None:
        """The value, or ``None`` when this process's copy may be behind (read the shared cache)."""
        if self._pid != os.getpid():
            self._start()
        value, read_at, sock = self._state
        if value is _MISSING or sock is None or time.monotonic() - read_at > self.max_age:
            return None
        try:
            # A message arrived and the thread has not taken it yet: the copy may be behind.
            if select.select([sock], [], [], 0)[0]:
                return None
        except (OSError, ValueError):  # the socket was closed meanwhile
            return None
        return value

    def changed(self) -> None:
        """After writing the key: every process's copy is read again (this one's at once)."""
        self._state = (_MISSING, 0.0, None)
        with contextlib.suppress(*UNAVAILABLE):  # each copy is read again within max_age
            self._client(write=True).publish(self.channel, b"")

    def stop(self) -> None:
        """The thread ends (within ``max_age / 2``); the next ``get`` starts another."""
        with self._lock:
            self._pid = 0
            self._state = (_MISSING, 0.0, None)

    def _client(self, *, write: bool = False) -> Redis:
        return self.cache._cache.get_client(write=write)  # type: ignore[attr-defined]

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()  # a forked child starts its own thread (threads do not survive fork)
            self._state = (_MISSING, 0.0, None)
            threading.Thread(target=self._watch, name=f"watch {self.key}", daemon=True).start()

    def _watch(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            pubsub: PubSub | None = None
            try:
                pubsub = self._client().pubsub()
                pubsub.subscribe(self.channel)
                while (message := pubsub.get_message(timeout=self.max_age)) is None or (
                    message["type"] != "subscribe"
                ):
                    if message is None:
                        raise RedisTimeoutError("no subscription confirmed")
                sock = pubsub.connection._sock  # type: ignore[union-attr]
                pinged = False
                while self._pid == pid:
                    self._read(sock)
                    if select.select([sock], [], [], self.max_age / 2)[0]:
                        self._state = (_MISSING, 0.0, None)  # stale before the message is taken
                        while (message := pubsub.get_message(timeout=0)) is not None:
                            pinged = pinged and message["type"] != "pong"
                    elif pinged:  # a subscription dropped without a word (a proxy between) is made again
                        raise RedisTimeoutError("the subscription did not answer a ping")
                    else:
                        pubsub.ping()
                        pinged = True
            except (*UNAVAILABLE, RedisError, ValueError):
                self._state = (_MISSING, 0.0, None)
                time.sleep(self.RETRY_SECONDS)
            except Exception:  # the thread must not end: reads would fall back to Redis for good
                logger.exception("watching %s failed; subscribing again", self.key)
                self._state = (_MISSING, 0.0, None)
                time.sleep(self.RETRY_SECONDS)
            finally:
                if pubsub is not None:
                    pubsub.close()

    def _read(self, sock: socket.socket) -> None:
        read_at = time.monotonic()
        value = self.cache.get(self.key, _MISSING)  # forgiving: an outage reads as missing
        self._state = (value, read_at, sock if value is not _MISSING else None)


class LocalFirstCache(BaseCache):
    """The storefront's fragments and pages: this process's memory first, then the shared cache.

    Every key stored here names the catalogue version it was rendered for (the ``{% cache %}`` tags
    with ``catalogue_version``, ``cached_by_version``, stored pages), so a value under a key never
    changes: a process may keep its own copy for as long as the shared one lives, and a catalogue change
    (a new version, which every process reads from the shared cache or its watched copy, ``WatchedKey``)
    moves every process to new keys at once. What this saves is a round trip to Redis per fragment: a
    product page reads six. The only keys without a version (the navigation and footer, an hour each) are
    kept here no longer than there.
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

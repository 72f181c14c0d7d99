"""A Redis cache that a cache outage cannot turn into an error page.

The cache only ever speeds pages up: when Redis does not answer, a read is a miss, a write is dropped and
the page is rendered from the database (logged, at most once a minute per process). Short socket
timeouts keep a dead cache from holding a request up.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_WARN_EVERY = 60.0


class ForgivingRedisCache(RedisCache):
    _last_warning = 0.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", 0.25)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, params)

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

"""The storefront's rendered-fragment cache and the catalogue version that invalidates it.

Storefront pages cache the HTML of their catalogue parts (product grids, a product's photos and facts,
the home page's sections) under a key that includes the *catalogue version*. Any change to products,
prices, photos, categories or shops bumps the version (stock does not: pages read it live): right after
commit in the same process (best effort: a cache that is down only logs), and durably through the outbox,
so a bump the cache missed still happens; fragments also expire after ``STOREFRONT_CACHE_SECONDS``.
Per-visitor parts (basket, sign-in, forms with CSRF tokens, recently viewed) are never cached.

Several processes share the version only through a shared cache: production sets CACHE_URL to Redis,
and then each process keeps its own copy of the version, kept current through a Redis channel
(``WatchedKey`` in marketplace/cache.py), rather than reading it on every request. A GET reads the
version once (``catalogue_version_pinned``): all of a page's parts are of one version.
"""

import copy
import hashlib
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

from asgiref.local import Local
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.base import BaseCache
from django.db import transaction
from django.db.models import QuerySet

from marketplace.cache import ForgivingRedisCache, WatchedKey
from marketplace.outbox.services import outbox_emit, transaction_key
from marketplace.storefront.cards import product_cards_stale
from marketplace.storefront.kept import PRODUCT_SCOPE, kept_stale
from marketplace.storefront.lists_moved import ListsMoved, lists_moved_record

# Written to the outbox by every catalogue change, once per commit: the version is bumped again.
CATALOGUE_CHANGED = "storefront.catalogue_changed"
VERSION_KEY = "storefront:catalogue-version"  # in the shared cache: every process reads it per request
# Values kept under a key that names the version (fragments, objects, whole pages): local memory first.
FRAGMENT_CACHE = "template_fragments"
KEY_TEXT_MAX_CHARS = 64  # longer (or unprintable) keys are hashed

T = TypeVar("T")
_MISSING = object()


def _new_version_line() -> int:
    # If the version key is lost (cache restarted, key evicted) while old fragments survive, a fresh
    # line must not meet their keys again: start from the clock, which only moves forward.
    return time.time_ns() // 1_000_000


_pinned = Local()  # the version a request in progress has read (catalogue_version_pinned)
# This process's copy of the version, per shared cache (marketplace/cache.py, WatchedKey).
_watched: dict[str, WatchedKey] = {}


def _version_watched() -> WatchedKey | None:
    """The version's watched copy when the shared cache is Redis and ``STOREFRONT_VERSION_WATCH_SECONDS``
    is not 0; ``None``: every read goes to the shared cache."""
    seconds = settings.STOREFRONT_VERSION_WATCH_SECONDS
    if seconds <= 0 or not isinstance(caches["default"], ForgivingRedisCache):
        return None
    shared = settings.CACHES["default"]
    where = f"{shared['LOCATION']}|{seconds}"
    watched = _watched.get(where)
    if watched is None:
        own = ForgivingRedisCache(shared["LOCATION"], copy.deepcopy(shared))
        watched = _watched.setdefault(where, WatchedKey(VERSION_KEY, cache=own, max_age=seconds))
    return watched


@contextmanager
def catalogue_version_pinned() -> Iterator[None]:
    """Within the block, the catalogue version is read from the cache once and then reused: a page's
    fragments, stored objects and whole-page key are all of one version, for one round trip. For
    requests that read (a change's bump is only seen by the next request)."""
    _pinned.version = None
    try:
        yield
    finally:
        del _pinned.version


def catalogue_version() -> int:
    pinned = getattr(_pinned, "version", _MISSING)
    if pinned is _MISSING:
        return _catalogue_version_read()
    if pinned is None:
        pinned = _pinned.version = _catalogue_version_read()
    return cast(int, pinned)


def _catalogue_version_read() -> int:
    watched = _version_watched()
    if watched is not None and (version := watched.get()) is not None:
        return cast(int, version)  # this process's copy, current (no round trip)
    version = cache.get(VERSION_KEY)
    if version is None:
        if cache.add(VERSION_KEY, _new_version_line(), timeout=None) and watched is not None:
            watched.changed()
        version = cache.get(VERSION_KEY)
    return version


def catalogue_version_bump() -> None:
    """Invalidate every cached storefront fragment now (in every process: their copies of the version
    are read again)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: start a line no fragment has used
        cache.add(VERSION_KEY, _new_version_line(), timeout=None)
    watched = _version_watched()
    if watched is not None:
        watched.changed()


def catalogue_changed(*, lists: ListsMoved, product_ids: Collection[int] = ()) -> None:
    """Invalidate every cached storefront fragment once the current transaction commits, and have the kept
    lists ``lists`` names picked again (``lists_moved.py``: ``NO_LIST`` for a change that moves none, a
    photo or a price). A write that bypasses ``save()`` names the products whose cards and pages it changed
    (``products_drawn_stale``: in this transaction); a ``save()`` is seen by the receivers."""
    if product_ids:
        products_drawn_stale(product_ids)
    key = transaction_key()
    lists_moved_record(key=key, moved=lists)
    if outbox_emit(topic=CATALOGUE_CHANGED, key=key) and not settings.OUTBOX_DELIVER_ON_COMMIT:
        transaction.on_commit(catalogue_version_bump, robust=True)


def products_drawn_stale(products: "QuerySet | Collection[int]") -> None:
    """In a change's transaction: these products' cards (``cards.py``) and their pages' kept parts
    (``kept.py``) are drawn again by the next page that shows them."""
    product_cards_stale(products)
    kept_stale(scope=PRODUCT_SCOPE, keys=products)


def fragment_cache() -> BaseCache:
    """The cache for values under a versioned key; the default one where CACHES names none (as Django's
    ``{% cache %}`` tag does)."""
    return caches[FRAGMENT_CACHE] if FRAGMENT_CACHE in settings.CACHES else cache


def fragment_seconds() -> int:
    return settings.STOREFRONT_CACHE_SECONDS


def cached_by_version(kind: str, key: object, load: Callable[[], T | None]) -> T | None:
    """An object a page is built around (a product, a shop, a place, a category), kept in the cache
    until the catalogue changes; ``None`` (not found) is not cached."""
    if fragment_seconds() <= 0:  # caching off: nothing read or written
        return load()
    key_text = str(key)
    # a visitor's slug: any length, any characters
    if len(key_text) > KEY_TEXT_MAX_CHARS or not key_text.isprintable():
        key_text = hashlib.sha256(key_text.encode("utf-8", "surrogatepass")).hexdigest()
    cache_key = f"storefront:{kind}:{catalogue_version()}:{key_text}"
    fragments = fragment_cache()
    found = fragments.get(cache_key)
    if found is None:
        found = load()
        if found is not None:
            fragments.set(cache_key, found, fragment_seconds())
    return found

"""Each process's copy of the catalogue version (marketplace/cache.py, WatchedKey) against a real
redis-server of the test's own: a read makes no round trip while the copy is current, a change made by
another process is seen once its message arrives, a lost message within the copy's age, and Redis
stopped and started again costs a read per request meanwhile, never an error."""

import time
from collections.abc import Callable, Iterator

import pytest
import redis
from django.test import override_settings

from devtools.stack import RedisServer, free_port
from marketplace.storefront import caching
from marketplace.storefront.caching import VERSION_KEY, catalogue_version_bump

MAX_AGE = 1.0


def eventually(check: Callable[[], bool], *, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


@pytest.fixture
def shared_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path / "redis", persistent=False, name="redis-version")
    cache = {"default": {"BACKEND": "marketplace.cache.ForgivingRedisCache", "LOCATION": server.url(0)}}
    with server, override_settings(CACHES=cache, STOREFRONT_VERSION_WATCH_SECONDS=MAX_AGE):
        yield server
        watched = caching._version_watched()
        assert watched is not None
        watched.stop()


class Another:
    """Another process's writes, straight to Redis: the key as Django stores it, and its channel."""

    def __init__(self, server: RedisServer) -> None:
        self.client = redis.Redis(host="127.0.0.1", port=server.port)
        watched = caching._version_watched()
        assert watched is not None
        self.key = watched.cache.make_key(VERSION_KEY)
        self.channel = watched.channel

    def bump(self, *, publish: bool = True) -> int:
        version = int(self.client.incr(self.key))
        if publish:
            self.client.publish(self.channel, b"")
        return version


def copy_current() -> bool:
    watched = caching._version_watched()
    return watched is not None and watched.get() is not None


def test_a_read_costs_no_round_trip_while_the_copy_is_current(shared_redis):
    first = caching._catalogue_version_read()  # starts the line, and this process's watcher
    assert eventually(copy_current)
    another = Another(shared_redis)
    unseen = another.bump(publish=False)  # a write that told no one
    assert caching._catalogue_version_read() == first, "read from this process's copy, not from Redis"
    # The copy is read again at least every MAX_AGE / 2 seconds.
    assert eventually(lambda: caching._catalogue_version_read() == unseen, within=MAX_AGE * 3)


def test_a_change_published_by_another_process_is_seen_when_its_message_arrives(shared_redis):
    caching._catalogue_version_read()
    assert eventually(copy_current)
    another = Another(shared_redis)
    for _ in range(20):
        version = another.bump()
        # Well before the copy's age would have it read again: the message moved it.
        assert eventually(lambda v=version: caching._catalogue_version_read() == v, within=MAX_AGE / 4)


def test_a_bump_in_this_process_is_seen_by_its_next_read_at_once(shared_redis):
    before = caching._catalogue_version_read()
    assert eventually(copy_current)
    catalogue_version_bump()
    assert caching._catalogue_version_read() == before + 1


def test_redis_stopped_and_started_again_costs_reads_not_errors(shared_redis):
    before = caching._catalogue_version_read()
    assert eventually(copy_current)
    shared_redis.stop()
    assert eventually(lambda: not copy_current(), within=MAX_AGE * 3)
    assert caching._catalogue_version_read() is None  # as before the copy: the cache is down, pages render
    shared_redis.start()
    after = caching._catalogue_version_read()  # the key was lost with the server: a new line
    assert after is not None
    assert after != before
    assert eventually(copy_current, within=MAX_AGE * 5), "the watcher subscribed again"
    another = Another(shared_redis)
    version = another.bump()
    assert eventually(lambda: caching._catalogue_version_read() == version, within=MAX_AGE / 4)


def test_the_copy_stays_current_through_quiet_spells(shared_redis):
    """Quiet for longer than the copy's age: the thread reads the key again and pings the subscription
    (its answer keeps it); a subscription made again would leave the copy unread for a second or more."""
    caching._catalogue_version_read()
    assert eventually(copy_current)
    samples = []
    deadline = time.monotonic() + MAX_AGE * 3
    while time.monotonic() < deadline:
        samples.append(copy_current())
        time.sleep(0.02)
    assert samples.count(False) <= len(samples) // 10, f"{samples.count(False)} of {len(samples)} not current"


def test_a_subscription_closed_by_redis_is_made_again(shared_redis):
    caching._catalogue_version_read()
    assert eventually(copy_current)
    another = Another(shared_redis)
    assert another.client.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    assert eventually(lambda: not copy_current(), within=MAX_AGE)
    assert eventually(copy_current, within=MAX_AGE * 5), "subscribed again"
    version = another.bump()
    assert eventually(lambda: caching._catalogue_version_read() == version, within=MAX_AGE / 4)

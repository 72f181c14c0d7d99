"""The storefront's local-first cache: this process's copy first, the shared cache second, and never a
stale page after a catalogue change (every key it keeps names the catalogue version)."""

import re
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache, caches
from oscar.core.loading import get_model

from marketplace.cache import LocalFirstCache
from marketplace.storefront.caching import VERSION_KEY
from tests.factories import ProductFactory

StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.django_db


def other_process() -> LocalFirstCache:
    """A process of its own: its local memory is shared with no other instance (locmem is per name)."""
    return LocalFirstCache(f"process-{uuid.uuid4()}", {"TIMEOUT": 300, "OPTIONS": {"SHARED": "default"}})


def test_a_value_one_process_stored_is_read_by_another_and_kept_there():
    mine, theirs = (
        other_process(),
        LocalFirstCache("third", {"TIMEOUT": 300, "OPTIONS": {"SHARED": "default"}}),
    )
    mine.set("storefront:page:1:x", "<html>")
    assert cache.get("storefront:page:1:x") == "<html>"  # in the shared cache
    assert theirs.get("storefront:page:1:x") == "<html>"
    cache.delete("storefront:page:1:x")
    assert theirs.get("storefront:page:1:x") == "<html>"  # its own copy now
    assert other_process().get("storefront:page:1:x", "miss") == "miss"


def without_nonce(html: str) -> str:
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)


def test_pages_are_served_from_process_memory_and_still_follow_a_catalogue_change(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        peach = ProductFactory(title="阳山水蜜桃 湖景蜜露", harvest_start_month=1, harvest_end_month=12)
    first = client.get("/").content.decode()
    version = cache.get(VERSION_KEY)
    cache.clear()  # the shared copies are gone (evicted, or another node's Redis)
    cache.set(VERSION_KEY, version, None)
    again = client.get("/")
    assert again.context is None  # served whole, from this process's memory
    assert without_nonce(again.content.decode()) == without_nonce(first)

    with django_capture_on_commit_callbacks(execute=True):
        record = StockRecord.objects.get(product=peach)
        record.price = Decimal("99.00")
        record.save()
    assert "¥99.00" in client.get("/").content.decode()
    assert caches["template_fragments"].get("no-such-key") is None

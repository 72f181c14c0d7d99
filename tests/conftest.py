import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads and generated photos go to a per-test folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (fragments, catalogue version, thumbnails' key-value store)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()

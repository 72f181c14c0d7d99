import pytest
from django.test.utils import override_settings


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests hash passwords with MD5: PBKDF2's million rounds cost a third of a second for every user
    made with a password or signed in. Production keeps Django's default hasher (PBKDF2)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads and generated photos go to a per-test folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's language: a request in English leaves English active on the thread
    (the locale middleware activates per request, nothing deactivates), which would leak into the next
    test's code run outside a request."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (fragments, catalogue version, thumbnails' key-value store)."""
    from django.core.cache import caches

    for each in caches.all():
        each.clear()
    yield
    for each in caches.all():
        each.clear()

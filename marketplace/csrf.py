"""The CSRF token a stored page's forms are filled with, per request (marketplace/storefront/page_cache.py).

It is the token Django's ``get_token`` gives: the visitor's secret (a new one, sent as the CSRF cookie, when
they have none) masked with as many new random characters, so that the page never shows the secret itself.
Django draws each of those characters with its own call to the system's random source (``secrets.choice``,
a read of ``/dev/urandom`` per character): for a first-time visitor, 64 reads and about 60 µs, a twentieth
of all a stored product page costs to serve. Here the characters come from one read of random bytes (bytes
that would favour some characters are dropped), and the token is made and checked exactly as Django's: the
same alphabet, lengths and mask, the secret put where Django's middleware sets the cookie from, and
``CsrfViewMiddleware`` checks the form unchanged. Pages rendered by templates keep ``{% csrf_token %}``.
"""

import secrets

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

_POSITION = {char: position for position, char in enumerate(CSRF_ALLOWED_CHARS)}
_CHARS = len(CSRF_ALLOWED_CHARS)
_UNBIASED = 256 - 256 % _CHARS  # a byte at or above this would make the first characters likelier


def random_chars(count: int) -> str:
    """``count`` characters of Django's CSRF alphabet, each as likely, from the system's random source."""
    chars: list[str] = []
    while len(chars) < count:
        chars.extend(
            CSRF_ALLOWED_CHARS[byte % _CHARS] for byte in secrets.token_bytes(count) if byte < _UNBIASED
        )
    return "".join(chars[:count])


def csrf_token(request: HttpRequest) -> str:
    """``django.middleware.csrf.get_token(request)`` drawn in one read of random bytes (the module note): a
    new token masking the visitor's secret; a visitor without one gets a new secret as their CSRF cookie."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = request.META["CSRF_COOKIE"] = random_chars(CSRF_SECRET_LENGTH)
    # As get_token: the cookie is (re)sent with the response, a new one or the expiry of the old renewed.
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = random_chars(CSRF_SECRET_LENGTH)
    cipher = "".join(
        CSRF_ALLOWED_CHARS[(_POSITION[s] + _POSITION[m]) % _CHARS] for s, m in zip(secret, mask, strict=True)
    )
    return mask + cipher

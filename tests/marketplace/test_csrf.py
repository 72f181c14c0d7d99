"""The CSRF token stored pages are filled with (marketplace/csrf.py): Django's token, drawn faster. Django's
own middleware judges it: it must accept the token with the visitor's cookie, refuse it with another's."""

from collections import Counter

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CsrfViewMiddleware,
    _unmask_cipher_token,
)
from django.test import RequestFactory

from marketplace import csrf
from marketplace.csrf import csrf_token, random_chars


def view(request):
    return HttpResponse("ok")


def refusal(*, cookie: str, token: str) -> HttpResponse | None:
    """Django's CSRF check of a form posted with ``token`` by a visitor whose cookie is ``cookie``."""
    post = RequestFactory().post("/form/", {"csrfmiddlewaretoken": token})
    post._dont_enforce_csrf_checks = False
    post.COOKIES[settings.CSRF_COOKIE_NAME] = cookie
    check = CsrfViewMiddleware(view)
    check.process_request(post)
    return check.process_view(post, view, (), {})


def cookie_sent(request) -> str:
    """The CSRF cookie Django's middleware sends with the response to ``request``."""
    response = CsrfViewMiddleware(view).process_response(request, HttpResponse())
    return response.cookies[settings.CSRF_COOKIE_NAME].value


def test_a_first_visitor_gets_a_new_secret_as_cookie_and_a_token_django_accepts_with_it():
    request = RequestFactory().get("/")
    token = csrf_token(request)
    cookie = cookie_sent(request)
    assert len(cookie) == 32
    assert set(cookie) <= set(CSRF_ALLOWED_CHARS)
    assert len(token) == 64
    assert set(token) <= set(CSRF_ALLOWED_CHARS)
    assert _unmask_cipher_token(token) == cookie
    assert token[32:] != cookie  # masked: the page never shows the secret
    assert refusal(cookie=cookie, token=token) is None
    other = RequestFactory().get("/")
    csrf_token(other)
    assert refusal(cookie=cookie_sent(other), token=token).status_code == 403


def test_a_returning_visitor_keeps_their_secret_and_each_token_is_new():
    first_visit = RequestFactory().get("/")
    csrf_token(first_visit)
    secret = cookie_sent(first_visit)
    request = RequestFactory().get("/")
    request.COOKIES[settings.CSRF_COOKIE_NAME] = secret  # their cookie, read by Django's middleware
    CsrfViewMiddleware(view).process_request(request)
    first, second = csrf_token(request), csrf_token(request)
    assert first != second
    assert _unmask_cipher_token(first) == _unmask_cipher_token(second) == secret
    assert cookie_sent(request) == secret  # sent again (its expiry renewed), not replaced
    assert refusal(cookie=secret, token=second) is None


def test_each_character_is_as_likely(monkeypatch):
    # Every byte value once: the 248 below the cut give each of the 62 characters exactly 4 times; the
    # 8 above it (which would make the first eight likelier) are dropped, and more bytes are drawn.
    draws = []

    def token_bytes(count):
        draws.append(count)
        return bytes(range(256))

    monkeypatch.setattr(csrf.secrets, "token_bytes", token_bytes)
    counts = Counter(random_chars(248))
    assert counts == dict.fromkeys(CSRF_ALLOWED_CHARS, 4)
    assert len(random_chars(300)) == 300
    assert draws == [248, 300, 300]

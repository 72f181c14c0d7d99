"""Whole pages kept for cookieless visitors: served with their own nonce and token, live stock, never to a
visitor who has a session or a basket, and retired by any catalogue change."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.template import engines
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.generic import View
from oscar.core.loading import get_model

from marketplace.partner.stock import StockRequest, stock_allocate, stock_release
from marketplace.storefront.caching import FRAGMENT_CACHE
from marketplace.storefront.page_cache import CSRF_HOLE, AnonymousPageCacheMiddleware, StoredPage, page_key
from tests.factories import ProductFactory, UserFactory
from tests.storefront.conftest import grid_pages

StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.django_db


def test_a_cookieless_visitor_gets_the_stored_page_with_a_nonce_of_its_own(client, peach):
    for url in grid_pages(peach):
        first = client.get(url)
        assert first.context is not None, url  # rendered
        with CaptureQueriesContext(connection) as queries:
            again = client.get(url)
        assert again.context is None, url  # served whole, no template rendered
        assert len(queries) == 1  # the live stock of the page's cards
        nonce = re.search(r"'nonce-([^']+)'", again["Content-Security-Policy"])[1]
        assert f'<script nonce="{nonce}">' in again.content.decode(), url
        assert nonce not in first.content.decode(), url


def test_stock_is_live_on_a_stored_page(client, peach, django_capture_on_commit_callbacks):
    client.get("/")
    assert client.get("/").context is None
    record = StockRecord.objects.get(product=peach)
    with django_capture_on_commit_callbacks(execute=True):
        stock_allocate(requests=[StockRequest(record.pk, 2)])
    page = client.get("/")
    assert page.context is None
    assert (
        f'<article class="product-card product-card--sold-out" data-product="{peach.pk}"'
        in page.content.decode()
    )

    # Stored again while sold out (a catalogue change re-rendered it), then a box comes back on sale.
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(harvest_start_month=1, harvest_end_month=12)
    assert client.get("/").context is not None
    assert client.get("/").context is None
    with django_capture_on_commit_callbacks(execute=True):
        stock_release(requests=[StockRequest(record.pk, 1)])
    page = client.get("/")
    assert page.context is None
    assert f'<article class="product-card" data-product="{peach.pk}"' in page.content.decode()


def test_a_catalogue_change_retires_the_stored_pages(client, peach, django_capture_on_commit_callbacks):
    for url in grid_pages(peach):
        client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        StockRecord.objects.filter(product=peach).update(price=Decimal("99.00"))
        record = StockRecord.objects.get(product=peach)
        record.save()
    for url in grid_pages(peach):
        page = client.get(url)
        assert page.context is not None, url
        assert "¥99.00" in page.content.decode(), url


def test_a_signed_in_visitor_is_never_served_the_stored_page_nor_stores_one(client, peach):
    client.get("/")
    user = UserFactory()
    client.force_login(user)
    signed_in = client.get("/")
    assert signed_in.context is not None
    assert client.get("/").context is not None  # their page was not stored either
    client.logout()
    client.cookies.clear()
    assert client.get("/").context is None  # the cookieless copy is still the one stored


def test_a_basket_cookie_bypasses_the_stored_page(client, peach):
    client.get("/")
    client.cookies["oscar_open_basket"] = "1:abc"
    assert client.get("/").context is not None


def test_a_page_that_is_not_found_is_not_stored(client, peach):
    url = reverse("search:search") + "?q=水蜜桃&page=99"
    assert client.get(url).status_code == 404
    assert client.get(url).status_code == 404


class TokenPage(View):
    anonymous_page_cache = True

    def get(self, request: HttpRequest) -> HttpResponse:
        template = engines["django"].from_string('<form method="post">{% csrf_token %}</form>')
        return HttpResponse(template.render({}, request))


def test_a_stored_page_carries_each_visitors_own_csrf_token_and_never_anothers():
    view = TokenPage.as_view()
    middleware = AnonymousPageCacheMiddleware(view)
    factory = RequestFactory()

    def visit() -> tuple[HttpRequest, str]:
        request = factory.get("/token-page/")
        request.LANGUAGE_CODE = "zh-hans"
        request.csp_nonce = "nonce"
        response = middleware.process_view(request, view, (), {}) or middleware(request)
        return request, response.content.decode()

    first_request, first = visit()
    first_token = re.search(r'value="([^"]+)"', first)[1]
    stored = caches[FRAGMENT_CACHE].get(page_key(first_request))
    assert isinstance(stored, StoredPage)
    assert CSRF_HOLE in stored.content
    assert first_token not in stored.content

    second_request, second = visit()
    served = re.search(r'value="([^"]+)"', second)[1]
    assert served != first_token
    # The token served is valid for the second visitor's own CSRF cookie, as Django's check sees it.
    assert csrf_refusal(factory, view, cookie=second_request.META["CSRF_COOKIE"], token=served) is None
    assert csrf_refusal(factory, view, cookie=first_request.META["CSRF_COOKIE"], token=served) is not None


def csrf_refusal(factory: RequestFactory, view, *, cookie: str, token: str) -> HttpResponse | None:
    post = factory.post("/token-page/", {"csrfmiddlewaretoken": token})
    post._dont_enforce_csrf_checks = False
    post.COOKIES[settings.CSRF_COOKIE_NAME] = cookie
    check = CsrfViewMiddleware(view)
    check.process_request(post)
    return check.process_view(post, view, (), {})

"""Whole pages kept for cookieless visitors: served with their own nonce and token, live stock, never to a
visitor who has a session or a basket, and retired by any catalogue change."""

import json
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.template import engines
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.generic import View
from oscar.apps.catalogue.signals import product_viewed
from oscar.core.loading import get_class, get_model

from marketplace.partner.stock import StockRequest, stock_allocate, stock_release
from marketplace.storefront.caching import FRAGMENT_CACHE, catalogue_version, products_drawn_stale
from marketplace.storefront.page_cache import CSRF_HOLE, AnonymousPageCacheMiddleware, StoredPage, page_key
from tests.factories import ProductFactory, UserFactory
from tests.storefront.conftest import grid_pages

StockRecord = get_model("partner", "StockRecord")
Product = get_model("catalogue", "Product")
CustomerHistoryManager = get_class("customer.history", "CustomerHistoryManager")

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


# --- the product page: kept whole, its buy box live ----------------------------------------------------


def fresh_visit(client, url: str):
    """A visitor with no cookie at all (the test client keeps the last response's)."""
    client.cookies.clear()
    return client.get(url)


def token_of(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


def without_nonce_and_token(response) -> str:
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])[1]
    return response.content.decode().replace(nonce, "NONCE").replace(token_of(response), "TOKEN")


def rendered(response) -> list[str]:
    """The templates a response rendered directly (not those they include)."""
    return [template.name for template in response.templates if template.name.endswith(".html")][:1]


def test_a_product_page_is_served_whole_with_its_buy_box_rendered_now(
    client, peach, django_capture_on_commit_callbacks
):
    url = peach.get_absolute_url()
    assert rendered(fresh_visit(client, url)) == ["oscar/catalogue/detail.html"]  # rendered, then stored
    viewed = []

    def on_view(sender, product, **kwargs):
        viewed.append(product.pk)

    product_viewed.connect(on_view)
    try:
        with CaptureQueriesContext(connection) as queries:
            served = fresh_visit(client, url)
    finally:
        product_viewed.disconnect(on_view)
    assert rendered(served) == ["storefront/partials/buy_box.html"]  # only the buy box was rendered
    assert len(queries) == 2  # the state of its stock, then its stock records to draw the buy box
    html = served.content.decode()
    assert "¥168.00" in html
    assert 'id="add_to_basket_form"' in html
    assert "<!--live:" not in html
    assert "\x00" not in html
    # What the view's get does after rendering still happens: the view is counted, the history cookie set.
    assert viewed == [peach.pk]
    assert json.loads(served.cookies[CustomerHistoryManager.cookie_name].value) == [peach.pk]
    # The basket form's token is this visitor's: Django's CSRF check accepts it with their cookie.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.cookies[settings.CSRF_COOKIE_NAME] = served.cookies[settings.CSRF_COOKIE_NAME].value
    added = csrf_client.post(
        reverse("basket:add", kwargs={"pk": peach.pk}), {"quantity": 1, "csrfmiddlewaretoken": token}
    )
    assert added.status_code == 302

    # The next cookieless visitor: the buy box of this state of stock was kept, with their own token in it.
    with CaptureQueriesContext(connection) as queries:
        again = fresh_visit(client, url)
    assert rendered(again) == []
    assert len(queries) == 1  # the state of its stock
    assert token_of(again) != token
    assert without_nonce_and_token(again) == without_nonce_and_token(served)

    # Stock moves without a catalogue change: the stored page stays, its buy box follows the stock.
    record = StockRecord.objects.get(product=peach)
    with django_capture_on_commit_callbacks(execute=True):
        stock_allocate(requests=[StockRequest(record.pk, 2)])
    sold_out = fresh_visit(client, url)
    assert "oscar/catalogue/detail.html" not in rendered(sold_out)
    html = sold_out.content.decode()
    assert 'id="add_to_basket_form"' not in html
    assert 'class="tag tag--lg tag--soldout"' in html
    assert 'id="alert_form"' in html
    assert "¥168.00" in html


def test_serving_a_stored_product_page_reads_what_it_needs_of_the_product_not_the_product(
    client, peach, monkeypatch
):
    url = peach.get_absolute_url()
    for _ in range(2):  # rendered and stored; then served, its buy box kept
        fresh_visit(client, url)
    fragments = caches[FRAGMENT_CACHE]
    read = []
    original_get = fragments.get
    monkeypatch.setattr(fragments, "get", lambda key, *args, **kwargs: read.append(key) or original_get(key))
    viewed = []

    def on_view(sender, product, **kwargs):
        viewed.append((product.pk, product.title))  # any field: read from the database when asked for

    product_viewed.connect(on_view)
    try:
        served = fresh_visit(client, url)
    finally:
        product_viewed.disconnect(on_view)
    assert served.status_code == 200
    kinds = [key.split(":")[1] for key in read]
    assert kinds == ["page", "product-served", "buy-box"]  # not the product, its shop and certifications
    assert viewed == [(peach.pk, peach.title)]
    assert json.loads(served.cookies[CustomerHistoryManager.cookie_name].value) == [peach.pk]


def test_a_visitor_with_a_browsing_history_gets_the_product_page_rendered(client, peach):
    other = ProductFactory(title="遂昌 高山云雾茶", stock=(Decimal("88.00"), 5))
    url = peach.get_absolute_url()
    fresh_visit(client, url)
    assert "oscar/catalogue/detail.html" not in rendered(fresh_visit(client, url))
    client.cookies.clear()
    client.get(other.get_absolute_url())  # now the visitor has a history
    with_history = client.get(url)
    assert "oscar/catalogue/detail.html" in rendered(with_history)
    assert 'id="recent-title"' in with_history.content.decode()
    assert f'data-product="{other.pk}"' in with_history.content.decode()


def test_a_product_withdrawn_behind_the_caches_back_is_not_served_from_the_stored_page(client, peach):
    url = peach.get_absolute_url()
    fresh_visit(client, url)
    assert "oscar/catalogue/detail.html" not in rendered(fresh_visit(client, url))
    # As if the cached product (and what serving its stored page reads of it, kept beside it) had expired
    # while the stored page had not, and the product left sale without the catalogue's version moving on:
    # a write that bypasses save() moves on the products it changes in its own transaction
    # (catalogue_changed's product_ids), the version only after it commits.
    Product.objects.filter(pk=peach.pk).update(is_public=False)
    products_drawn_stale([peach.pk])
    for kind in ("product", "product-served"):
        caches[FRAGMENT_CACHE].delete(f"storefront:{kind}:{catalogue_version()}:{peach.pk}")
    assert fresh_visit(client, url).status_code == 404

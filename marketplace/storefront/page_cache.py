"""Whole storefront pages kept for first-time visitors, the way a CDN or Varnish in front of a shop would.

Most storefront traffic is anonymous and cookieless (first visits, shared links, crawlers), and for them a
list page (home, categories, shops, places, search) is the same HTML for everyone, except three things: the
CSRF token of the language switch, the Content-Security-Policy nonce, and stock. The first two are written
into the stored copy as placeholders and filled in per request; stock is set live on every serve by the
same ``live_stock_apply`` that cached grids use. Pages are keyed on the catalogue version, so any catalogue
change retires them with the fragments (``marketplace/storefront/caching.py``).

A page can also have live regions, marked ``<!--live:NAME-->…<!--/live:NAME-->`` in its template (the
product page's buy box: price, stock, the basket form). They are cut out of the stored copy, and a view
with live regions serves its stored pages itself (``anonymous_page_serve``): it renders those regions
afresh and does what its own ``get`` would have done after rendering (the product page records the view
and the browsing-history cookie).

A visitor with any other cookie (signed in, a basket, messages, browsing history) is never served a stored
page: their header and notices are their own, rendered from the fragments as before. A view can narrow
the cookies it ignores (``anonymous_page_neutral_cookies``: the product page shows the visitor's history).
"""

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from oscar.core.loading import get_class

from marketplace.csrf import csrf_token
from marketplace.storefront.caching import (
    catalogue_version,
    catalogue_version_pinned,
    fragment_cache,
    fragment_seconds,
)
from marketplace.storefront.selectors import products_live_stock
from marketplace.storefront.templatetags.storefront_tags import CARD_MARKER, live_stock_apply

CustomerHistoryManager = get_class("customer.history", "CustomerHistoryManager")

# Cookies that do not make a list page the visitor's own: the chosen language (in the key), the CSRF cookie
# (the token written into the page is filled in per request) and Oscar's browsing history (shown on
# product pages only).
NEUTRAL_COOKIES = frozenset(
    {settings.LANGUAGE_COOKIE_NAME, settings.CSRF_COOKIE_NAME, CustomerHistoryManager.cookie_name}
)
CSRF_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+(")')
CSRF_HOLE = "\x00csrf\x00"
NONCE_HOLE = "\x00nonce\x00"
LIVE_REGION = re.compile(r"<!--live:(?P<name>[a-z-]+)-->.*?<!--/live:(?P=name)-->", re.DOTALL)


def _live_hole(name: str) -> str:
    return f"\x00live:{name}\x00"


@dataclass(frozen=True)
class StoredPage:
    content: str
    content_type: str
    # Read once when stored, so that serving needs no scan of the page unless stock moved across zero.
    product_ids: frozenset[int] = frozenset()
    sold_out_as_stored: frozenset[int] = frozenset()
    has_csrf_token: bool = False
    live_regions: tuple[str, ...] = ()

    def serve(self, request: HttpRequest, live: Mapping[str, str] | None = None) -> str:
        """The page for this request; ``live`` has the HTML of each live region (all of them)."""
        content = self.content
        for name in self.live_regions:
            content = content.replace(_live_hole(name), (live or {})[name])
        if self.has_csrf_token:
            content = content.replace(CSRF_HOLE, csrf_token(request))
        content = content.replace(NONCE_HOLE, str(request.csp_nonce))  # type: ignore[attr-defined]
        if not self.product_ids:
            return content
        stock = products_live_stock(product_ids=self.product_ids)
        if self.sold_out_as_stored & stock.tracked == stock.sold_out:
            return content  # every card already shows the stock of now
        return live_stock_apply(content)


def _cacheable_request(request: HttpRequest, neutral_cookies: frozenset[str]) -> bool:
    return request.method == "GET" and set(request.COOKIES) <= neutral_cookies


def page_key(request: HttpRequest) -> str:
    # The month is in the key for the home page's "in season" (the same rule as its fragment).
    where = f"{request.get_host()}{request.get_full_path()}"
    digest = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()
    month = timezone.localdate().strftime("%Y-%m")
    return f"storefront:page:{catalogue_version()}:{request.LANGUAGE_CODE}:{month}:{digest}"


class AnonymousPageCacheMiddleware:
    """Serves and stores, for cookieless visitors, the pages of views whose class says
    ``anonymous_page_cache = True`` (see the module note). Last in
    ``MIDDLEWARE``: a stored page still passes every other middleware's response step (CSP header with the
    new nonce, CSRF cookie, security headers)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            with catalogue_version_pinned():
                response = self.get_response(request)
        else:
            response = self.get_response(request)
        key = getattr(request, "_page_cache_key", None)
        if key is not None and self._storable(request, response):
            self._store(key, request, response)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "view_class", None)
        if not getattr(view_class, "anonymous_page_cache", False):
            return None
        neutral = getattr(view_class, "anonymous_page_neutral_cookies", NEUTRAL_COOKIES)
        if not _cacheable_request(request, neutral) or fragment_seconds() <= 0:
            return None
        key = page_key(request)
        stored = fragment_cache().get(key)
        if isinstance(stored, StoredPage):
            if not stored.live_regions:
                return HttpResponse(stored.serve(request), content_type=stored.content_type)
            # None: the view renders the page itself this time (e.g. its object is gone)
            serve = view_class.anonymous_page_serve  # type: ignore[union-attr]  # opted in above
            served: HttpResponse | None = serve(request, view_kwargs, stored)
            if served is not None:
                return served
        request._page_cache_key = key  # type: ignore[attr-defined]
        return None

    @staticmethod
    def _storable(request: HttpRequest, response: HttpResponse) -> bool:
        session = getattr(request, "session", None)
        return (
            response.status_code == HTTPStatus.OK
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
            and not (session is not None and session.modified)
            and not set(response.cookies) - NEUTRAL_COOKIES
        )

    @staticmethod
    def _store(key: str, request: HttpRequest, response: HttpResponse) -> None:
        content = response.content.decode(response.charset)
        live_regions: list[str] = []

        def cut(match: re.Match[str]) -> str:
            live_regions.append(match["name"])
            return _live_hole(match["name"])

        content = LIVE_REGION.sub(cut, content)  # before the CSRF field: a live region's token is its own
        content, tokens = CSRF_FIELD.subn(rf"\g<1>{CSRF_HOLE}\g<2>", content)
        nonce = getattr(request, "_csp_nonce", None)
        if nonce:
            content = content.replace(nonce, NONCE_HOLE)
        cards = [(int(match[2]), bool(match[1])) for match in CARD_MARKER.finditer(content)]
        page = StoredPage(
            content,
            response["Content-Type"],
            product_ids=frozenset(product_id for product_id, _ in cards),
            sold_out_as_stored=frozenset(product_id for product_id, sold_out in cards if sold_out),
            has_csrf_token=bool(tokens),
            live_regions=tuple(dict.fromkeys(live_regions)),
        )
        fragment_cache().set(key, page, fragment_seconds())

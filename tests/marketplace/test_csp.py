"""The Content-Security-Policy (django-csp, settings CONTENT_SECURITY_POLICY): every kind of page carries it,
with no inline script allowed but by the response's nonce, and Stripe.js's origins only on the pages that
load Stripe.js; and the pages, rendered for the people who use them, give the browser nothing the policy
would refuse: every inline <script> carries the response's nonce, no element has an on* handler, no URL
is javascript:."""

import re
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlsplit

import csp.middleware
import pytest
from csp.constants import SELF
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from oscar.test.factories import UserFactory

from logistics.models import LogisticsPartner
from marketplace import csp as csp_module
from marketplace.csp import SiteWidePolicyMiddleware
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition
from marketplace.storefront import views as storefront_views
from shops.services import farmer_attach
from tests.checkout.conftest import order_from_two_shops
from tests.factories import ProductFactory, ShopFactory, association_member

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"'nonce-([^']+)'")
# <script type=…> values a browser runs; other types (application/json, ld+json) are data, not script.
SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data"}


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy, directive → sources."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.wsgi_request.path} ({response.status_code})"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def policy_header(response) -> str:
    return response.headers["Content-Security-Policy"]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Markup(HTMLParser):
    """What a page's HTML asks the browser to run: its inline scripts (with their nonce), its script
    files, its on* attributes and its javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline_scripts: list[str | None] = []  # the nonce of each, None if it has none
        self.script_files: list[str] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.javascript_urls.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and (values.get("type") or "").strip().lower() in SCRIPT_TYPES:
            if values.get("src"):
                self.script_files.append(values["src"])
            else:
                self.inline_scripts.append(values.get("nonce"))


def markup(response) -> Markup:
    parsed = Markup()
    parsed.feed(response.content.decode())
    parsed.close()
    return parsed


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Site:
    """A shop with a listing and a buyer's order, a visitor with a basket, and everyone who works here."""

    product: object
    shop_order: object
    order: object
    buyer: Client
    farmer: Client
    member: Client
    partner: Client
    admin: Client
    visitor: Client


@pytest.fixture
def site() -> Site:
    # Nobody signs in with a password here (force_login): no password hashing to wait for.
    shop, other_shop = ShopFactory(name="桃源果园"), ShopFactory(name="龙谷茶舍")
    product = ProductFactory(shop=shop, stock=(Decimal("168.00"), 10))
    buyer = UserFactory(email="buyer@example.cn", password=None)
    order = order_from_two_shops(buyer, peach_shop=shop)
    shop_order = order.shop_orders.get(shop=shop)
    # Paid: a shop sees its orders (and their packing slips) from then on.
    shop_order_transition(shop_order_id=shop_order.pk, to_status=ShopOrder.Status.PAID, reason="test")
    # A farmer of two shops and a partner user of two partners see their workspace's switch (a select).
    farmer = UserFactory(email="farmer@example.cn", password=None)
    farmer_attach(shop=shop, user=farmer)
    farmer_attach(shop=other_shop, user=farmer)
    partner_user = UserFactory(email="hub@example.cn", password=None)
    for code, kind in (("suichang-hub", "hub"), ("sf", "express")):
        LogisticsPartner.objects.create(code=code, name=code, kind=kind).users.add(partner_user)
    visitor = Client()
    response = visitor.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1})
    assert response.status_code == 302
    return Site(
        product=product,
        shop_order=shop_order,
        order=order,
        buyer=signed_in(buyer),
        farmer=signed_in(farmer),
        member=signed_in(association_member(password=None)),
        partner=signed_in(partner_user),
        admin=signed_in(UserFactory(is_staff=True, is_superuser=True, password=None)),
        visitor=visitor,
    )


# (who, URL or a function of the site giving it, the status expected)
PAGES = {
    "storefront": ("visitor", "/", 200),
    "product": ("visitor", lambda site: site.product.get_absolute_url(), 200),
    "search": ("visitor", "/search/?q=桃", 200),
    "basket": ("visitor", "/basket/", 200),
    "checkout": ("visitor", "/checkout/", 200),
    "pay": ("buyer", lambda site: reverse("checkout:pay", kwargs={"number": site.order.number}), 200),
    "sign-in": ("visitor", "/accounts/login/", 200),
    "account": ("buyer", "/accounts/profile/", 200),
    "account-profile-form": ("buyer", "/accounts/profile/edit/", 200),
    "account-wish-list-form": ("buyer", "/accounts/wishlists/create/", 200),
    "open-a-shop": ("visitor", "/open-a-shop/", 200),
    "open-data": ("visitor", "/open-data/", 200),
    "console": ("farmer", "/shop/", 200),
    "console-listings": ("farmer", "/shop/listings/", 200),
    "console-photos": ("farmer", lambda site: reverse("console:listing-photos", args=[site.product.pk]), 200),
    "console-packing-slip": (
        "farmer",
        lambda site: reverse("console:packing-slip", kwargs={"number": site.shop_order.number}),
        200,
    ),
    "console-sales": ("farmer", "/shop/sales/", 200),
    "association": ("member", "/association/", 200),
    "association-applications": ("member", "/association/applications/", 200),
    "association-to-a-farmer": ("farmer", "/association/", 403),
    "partner-portal": ("partner", "/logistics/", 200),
    "partner-portal-to-a-buyer": ("buyer", "/logistics/", 403),
    "admin": ("admin", "/admin/", 200),
    "admin-change-list": ("admin", "/admin/auth/user/", 200),
    "admin-change-form": ("admin", "/admin/auth/user/add/", 200),
    "oscar-dashboard": ("admin", "/dashboard/", 404),  # unmounted: marketplace/config.py
    "not-found": ("visitor", "/no-such-page/", 404),
}
STRIPE_PAGES = {"checkout", "pay"}


def fetch(site: Site, kind: str):
    who, url, status = PAGES[kind]
    response = getattr(site, who).get(url(site) if callable(url) else url)
    assert response.status_code == status, f"{kind}: {response.status_code}"
    return response


@pytest.mark.parametrize("kind", PAGES)
def test_every_kind_of_page_has_the_policy_and_no_unsafe_script_source(site, kind):
    directives = policy(fetch(site, kind))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert not [source for source in directives["script-src"] if source in ("*", "http:", "https:", "data:")]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["img-src"] == ["'self'", "data:"]


@pytest.mark.parametrize("kind", PAGES)
def test_stripe_js_is_allowed_where_it_is_loaded_and_nowhere_else(site, settings, kind):
    stripe = origin(settings.STRIPE_JS_URL)  # localstripe's, in tests
    response = fetch(site, kind)
    directives = policy(response)
    loads_stripe_js = settings.STRIPE_JS_URL in markup(response).script_files
    assert loads_stripe_js == (kind in STRIPE_PAGES)
    for directive in ("script-src", "connect-src", "frame-src"):
        assert (stripe in directives[directive]) == loads_stripe_js, (directive, directives[directive])


def test_with_stripes_own_stripe_js_the_checkout_allows_stripes_origins(site, settings):
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    directives = policy(fetch(site, "checkout"))
    assert "https://js.stripe.com" in directives["script-src"]
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= set(directives["frame-src"])
    assert "https://api.stripe.com" in directives["connect-src"]
    assert "http://127.0.0.1:8420" not in " ".join(sum(directives.values(), []))
    # The rest of the site allows none of Stripe's origins.
    assert "stripe.com" not in fetch(site, "storefront").headers["Content-Security-Policy"]


@pytest.mark.parametrize("kind", PAGES)
def test_the_browser_is_given_no_script_the_policy_refuses(site, settings, kind):
    response = fetch(site, kind)
    page = markup(response)
    assert not page.handlers, f"{kind}: inline event handlers {page.handlers}"
    assert not page.javascript_urls, f"{kind}: javascript: URLs {page.javascript_urls}"
    nonces = NONCE.findall(response.headers["Content-Security-Policy"])
    if page.inline_scripts:
        assert len(nonces) == 1, f"{kind}: inline scripts but the policy names no nonce"
        assert page.inline_scripts == [nonces[0]] * len(page.inline_scripts), f"{kind}: {page.inline_scripts}"
    stripe_js = {settings.STRIPE_JS_URL} if kind in STRIPE_PAGES else set()
    for src in page.script_files:
        ours = src.startswith("/") and not src.startswith("//")  # 'self' (the admin's /admin/jsi18n/ too)
        assert ours or src in stripe_js, f"{kind}: a script from {src}"


def test_each_response_has_its_own_nonce(site):
    first, second = (NONCE.findall(policy_header(fetch(site, "storefront"))) for _ in range(2))
    assert len(first) == 1
    assert len(second) == 1
    assert first != second


def test_the_storefronts_inline_script_runs_oscar_with_the_nonce(site):
    """Oscar's layout writes its start-up (oscar.init()) inline: it must be the nonced script."""
    response = fetch(site, "storefront")
    nonce = NONCE.findall(response.headers["Content-Security-Policy"])[0]
    started = re.compile(rf'<script nonce="{re.escape(nonce)}">\s*\$\(function\(\) \{{\s*oscar\.init\(\);')
    assert started.search(response.content.decode())


def test_a_server_error_page_has_the_policy_and_runs_no_script(site, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the home page broke")

    monkeypatch.setattr(storefront_views.HomeView, "get", crash)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    directives = policy(response)
    assert "'unsafe-inline'" not in directives["script-src"]
    page = markup(response)
    assert page.inline_scripts == []
    assert page.script_files == []
    assert page.handlers == []
    assert page.javascript_urls == []


def django_csp_header(request, response) -> str | None:
    """The header django-csp's own middleware writes for this request and response."""
    return (
        CSPMiddleware(lambda request: response)
        .process_response(request, response)
        .headers.get("Content-Security-Policy")
    )


@pytest.mark.parametrize("nonce", ["bm9uY2Utb25l", None], ids=["page with a nonce", "page without"])
def test_the_header_kept_per_process_is_the_one_django_csp_builds(rf, nonce):
    ours, theirs = rf.get("/"), rf.get("/")
    if nonce:
        ours._csp_nonce = theirs._csp_nonce = nonce
    middleware = SiteWidePolicyMiddleware(lambda request: HttpResponse())
    for _ in range(2):  # built, then taken from the copy
        header = middleware.process_response(ours, HttpResponse()).headers["Content-Security-Policy"]
        assert header == django_csp_header(theirs, HttpResponse())
    assert ("'nonce-bm9uY2Utb25l'" in header) is bool(nonce)


def test_the_policy_is_built_once_per_process_and_again_when_the_setting_changes(site, settings, monkeypatch):
    built = []
    monkeypatch.setattr(
        csp_module, "build_policy", lambda **kwargs: built.append(kwargs) or build_policy(**kwargs)
    )
    visitor = Client()  # its own middleware instances: nothing built yet
    nonces = {NONCE.findall(policy_header(visitor.get("/")))[0] for _ in range(5)}
    assert len(nonces) == 5  # each response still its own nonce
    assert len(built) == 2  # with a slot for the nonce, and without
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            "img-src": [SELF, "https://img.example.cn"],
        }
    }
    assert policy(visitor.get("/"))["img-src"] == ["'self'", "https://img.example.cn"]
    assert len(built) == 4


def test_a_view_with_a_policy_of_its_own_is_written_by_django_csp(rf, monkeypatch):
    request = rf.get("/")
    response = csp_update({"img-src": ["https://img.example.cn"]})(lambda request: HttpResponse())(request)
    calls = []
    monkeypatch.setattr(
        csp.middleware, "build_policy", lambda **kwargs: calls.append(kwargs) or build_policy(**kwargs)
    )
    header = SiteWidePolicyMiddleware(lambda request: response).process_response(request, response)
    assert "https://img.example.cn" in header.headers["Content-Security-Policy"]
    assert calls  # django-csp's path, which reads the response's own additions

"""The Content-Security-Policy's one per-page addition: Stripe.js's origins, on the pages that load it (the
checkout and the pay page) and nowhere else. The site-wide policy is CONTENT_SECURITY_POLICY in settings."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from csp.decorators import csp_update
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

STRIPE_JS_ORIGIN = "https://js.stripe.com"
# Stripe's guide to a CSP for Stripe.js: its script and its frames come from js.stripe.com (and its
# subdomains), 3-D Secure frames from hooks.stripe.com, and it calls api.stripe.com.
STRIPE_JS_SOURCES = {
    "script-src": [STRIPE_JS_ORIGIN, "https://*.js.stripe.com"],
    "frame-src": [STRIPE_JS_ORIGIN, "https://*.js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
}


def stripe_js_sources(js_url: str) -> dict[str, list[str]]:
    """What a page that loads Stripe.js from ``js_url`` must allow. Stripe's own script needs Stripe's
    origins; a stand-in (localstripe in development and tests, ``http://127.0.0.1:8420/js.stripe.com/v3/``)
    serves its script and answers its calls at its own origin."""
    parts = urlsplit(js_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin == STRIPE_JS_ORIGIN:
        return {directive: list(sources) for directive, sources in STRIPE_JS_SOURCES.items()}
    return {"script-src": [origin], "frame-src": [origin], "connect-src": [origin]}


def allow_stripe_js(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Adds Stripe.js's sources to the policy of ``view``'s responses. STRIPE_JS_URL is read per request
    (tests point it at their own localstripe), so django-csp's ``csp_update`` is applied per request too."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        return csp_update(stripe_js_sources(settings.STRIPE_JS_URL))(view)(request, *args, **kwargs)

    return wrapped

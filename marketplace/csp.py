"""The Content-Security-Policy's one per-page addition: Stripe.js's origins, on the pages that load it (the
checkout and the pay page) and nowhere else. The site-wide policy is CONTENT_SECURITY_POLICY in settings;
its header is written by ``SiteWidePolicyMiddleware``, django-csp's middleware built once per process."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from csp.constants import HEADER
from csp.decorators import csp_update
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
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


# What django-csp's decorators set on a response: such a response has a policy of its own.
_RESPONSE_POLICY_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)
_NONCE_SLOT = "\x00nonce\x00"  # a character no source of a policy has


class SiteWidePolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site-wide policy's header built once per process instead of on every
    response. django-csp builds it from the settings each time, twice (the policy and the report-only one),
    about 50 µs of the 1 ms a stored product page costs. Here a response whose view set no policy of its own
    takes this process's copy, built by django-csp's ``build_policy`` with a slot for the request's nonce,
    and built again when the setting is another object (a test's override). Everything else goes through
    django-csp unchanged: a view's own policy (``csp_update`` and the other decorators, as the Stripe pages
    have), a report-only policy, excluded prefixes, and Django's debug pages."""

    _built: tuple[object, str, str] | None = None  # (the setting, the header with a nonce slot, without)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not self._site_wide(response):
            return super().process_response(request, response)
        nonce = getattr(request, "_csp_nonce", None)
        if HEADER not in response:
            with_slot, without_nonce = self._headers()
            response[HEADER] = with_slot.replace(_NONCE_SLOT, nonce) if nonce else without_nonce
        if nonce is None:  # django-csp's guard: a nonce first read after the header is written is an error
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _site_wide(response: HttpResponseBase) -> bool:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        return (
            bool(policy)
            and not settings.DEBUG
            and not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            and not policy.get("EXCLUDE_URL_PREFIXES")
            and not any(hasattr(response, name) for name in _RESPONSE_POLICY_ATTRIBUTES)
        )

    def _headers(self) -> tuple[str, str]:
        policy = settings.CONTENT_SECURITY_POLICY
        built = self._built
        if built is None or built[0] is not policy:
            built = self._built = (policy, build_policy(nonce=_NONCE_SLOT), build_policy())
        return built[1], built[2]

"""The marketplace speaks Simplified Chinese unless the visitor chose English with the switch; no request
body larger than its view takes is read."""

import contextlib
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from marketplace.errors import answers_json


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, minus the browser's Accept-Language: the language cookie set by the
    switch (/i18n/setlang/) decides, else zh-hans. An English-language browser in Shanghai still gets
    the Chinese market it expects, and pages are the same for every first visit (cache-friendly)."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class RequestBodyLimitMiddleware:
    """Refuses a request whose body is larger than its view takes (413), before anything reads it.

    Every view takes ``REQUEST_BODY_MAX_BYTES``; the upload views named in ``REQUEST_BODY_LIMITS`` (by URL
    name) take more. The check is on Content-Length: Django reads no more than that, and a body without
    one (chunked) is read as empty. It runs in ``process_view`` (the URL is resolved there), so it must
    come before ``CsrfViewMiddleware``, whose ``process_view`` reads the form. The reverse proxy's own
    cap (docs/operations.md) is set to the largest of these, so a larger body never reaches a worker."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None  # Django reads such a body as empty
        limit = settings.REQUEST_BODY_MAX_BYTES
        if size <= limit:
            return None
        match = request.resolver_match
        limit = settings.REQUEST_BODY_LIMITS.get(match.view_name if match else "", limit)
        if size <= limit:
            return None
        return body_too_large(request, limit)


def body_too_large(request: HttpRequest, limit: int) -> HttpResponse:
    megabytes = f"{limit / (1024 * 1024):g}"
    if answers_json(request):
        message = _("The request body is larger than %(limit)s MB, the most this address takes.")
        response: HttpResponse = JsonResponse({"detail": message % {"limit": megabytes}}, status=413)
    else:
        response = render(request, "security/too_large.html", {"limit_mb": megabytes}, status=413)
    response["Connection"] = "close"  # the unread body is not left on a kept-alive connection
    return response


class ClientAddressMiddleware:
    """Behind the site's own reverse proxies, ``REMOTE_ADDR`` is the proxy's address, and every visitor
    would share one sign-in lockout and one rate limit. When the peer is one of ``TRUSTED_PROXIES``,
    ``REMOTE_ADDR`` becomes the nearest address in ``X-Forwarded-For`` that is not a trusted proxy (the
    header's earlier entries are whatever the visitor chose to send, so they are never believed). With no
    trusted proxies (the default), the header is ignored."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.proxies = [ipaddress.ip_network(entry, strict=False) for entry in settings.TRUSTED_PROXIES]

    def trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.proxies and self.trusted(request.META.get("REMOTE_ADDR", "")):
            hops = [
                hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()
            ]
            for hop in reversed(hops):
                if not self.trusted(hop):
                    with contextlib.suppress(ValueError):  # garbage, not an address: keep the proxy's
                        request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(hop))
                    break
        return self.get_response(request)

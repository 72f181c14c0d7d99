"""Partner tokens: ``Authorization: Token <key>``. The key is looked up by its SHA-256 (only the digest is
stored); a revoked or unknown token, or one of a partner no longer working with the market, is refused.
``request.auth`` is the partner. Requests without a working token are counted per client address, and an
address past its rate is refused before its token is looked up, so tokens cannot be guessed at speed."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from logistics.models import LogisticsPartner, PartnerToken


class FailedAuthenticationThrottle(SimpleRateThrottle):
    """Requests without a working partner token, per client address
    (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["logistics_failed_auth"]``). Checked by the authentication
    before the token lookup, because DRF runs a view's throttles only after authentication has passed; only
    failures count, so a partner's own traffic is left to ``PartnerRateThrottle``. A success does not clear
    the count: one partner's good token must not buy its holder more guesses at the others'."""

    num_requests: int  # set from the rate by SimpleRateThrottle.__init__
    duration: int

    scope = "logistics_failed_auth"

    def get_cache_key(self, request: Request, view: APIView | None = None) -> str:
        # The peer's address only: X-Forwarded-For is whatever the client writes (DRF's get_ident would
        # believe it), and the project trusts no proxy header.
        return self.cache_format % {"scope": self.scope, "ident": request.META.get("REMOTE_ADDR", "")}

    def allows(self, request: Request) -> bool:
        """Whether the address has failures left in the window. Counts nothing: a request counts only once
        it has failed (``failure_record``)."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) < self.num_requests

    def failure_record(self) -> None:
        """Count the request ``allows`` let through as a failure of its address."""
        if self.rate is not None:
            self.throttle_success()  # DRF's step that writes the request into the window


class PartnerTokenAuthentication(BaseAuthentication):
    keyword = "Token"
    header_parts = 2  # the keyword and the key

    def authenticate(self, request: Request) -> tuple[AnonymousUser, LogisticsPartner] | None:
        failures = FailedAuthenticationThrottle()
        if not failures.allows(request):
            raise exceptions.Throttled(wait=failures.wait())
        try:
            partner = self._partner(request)
        except exceptions.AuthenticationFailed:
            failures.failure_record()
            raise
        if partner is None:
            failures.failure_record()
            return None  # no token: the permission answers 401 with the challenge below
        # No Django user stands behind a partner's system; the partner is the principal.
        return AnonymousUser(), partner

    def _partner(self, request: Request) -> LogisticsPartner | None:
        """The partner whose token the request sends; ``None`` when it sends none."""
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != self.header_parts:
            raise exceptions.AuthenticationFailed(_("Send the header as “Authorization: Token <key>”."))
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = (
            PartnerToken.objects.select_related("partner")
            .filter(digest=PartnerToken.digest_of(key), revoked=False, partner__active=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return token.partner

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="logistics"'


class IsLogisticsPartner(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, LogisticsPartner)


class PartnerRateThrottle(SimpleRateThrottle):
    """Requests per partner (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["logistics_partner"]``)."""

    scope = "logistics_partner"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, LogisticsPartner):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = PartnerTokenAuthentication
    name = "partnerToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A partner token, sent as `Token <key>` (issued by `manage.py logistics_token_issue`)."
            ),
        }

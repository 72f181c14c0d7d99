"""Partner tokens: ``Authorization: Token <key>``. The key is looked up by its SHA-256 (only the digest is
stored); a revoked or unknown token, or one of a partner no longer working with the market, is refused.
``request.auth`` is the partner."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import SimpleRateThrottle

from logistics.models import LogisticsPartner, PartnerToken


class PartnerTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # no token: the permission answers 401 with the challenge below
        if len(parts) != 2:
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
        # No Django user stands behind a partner's system; the partner is the principal.
        return AnonymousUser(), token.partner

    def authenticate_header(self, request):
        return f'{self.keyword} realm="logistics"'


class IsLogisticsPartner(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, LogisticsPartner)


class PartnerRateThrottle(SimpleRateThrottle):
    """Requests per partner (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["logistics_partner"]``)."""

    scope = "logistics_partner"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, LogisticsPartner):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = PartnerTokenAuthentication
    name = "partnerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A partner token, sent as `Token <key>` (issued by `manage.py logistics_token_issue`)."
            ),
        }

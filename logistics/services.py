"""Writes about logistics partners themselves: their API tokens."""

import secrets

from logistics.models import LogisticsPartner, PartnerToken


def partner_token_issue(*, partner: LogisticsPartner, label: str = "") -> str:
    """Make an API token for ``partner`` and return its key. Only the key's SHA-256 is stored, so this is
    the one time the key can be seen."""
    key = secrets.token_urlsafe(32)
    PartnerToken.objects.create(partner=partner, digest=PartnerToken.digest_of(key), label=label[:64])
    return key


def partner_token_revoke(*, token_id: int, partner: LogisticsPartner) -> None:
    """Stop a token from working (kept for the record)."""
    PartnerToken.objects.filter(pk=token_id, partner=partner).update(revoked=True)

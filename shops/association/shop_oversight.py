"""The association's decisions on an admitted shop: suspend it (its products leave the storefront at
once; its open orders carry on), reinstate it, and whether its new listings wait for review. Each goes
through the shop's own write path and is audited in the same transaction."""

from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.locks import for_update
from shops.association.audit import audit_record
from shops.services import ShopStatusError, shop_status_change

if TYPE_CHECKING:
    from oscar.apps.partner.models import Partner
else:
    Partner = get_model("partner", "Partner")


class ShopDecisionError(ValueError):
    """A decision on a shop that cannot be taken; ``str()`` is the message to show."""


def _status_move(
    *, shop_id: int, to_status: str, actor: AbstractBaseUser, reason: str, action: str
) -> "Partner":
    reason = reason.strip()
    if not reason:
        raise ShopDecisionError(_("Give a reason: it is kept in the shop's history."))
    with transaction.atomic():
        try:
            event = shop_status_change(shop_id=shop_id, to_status=to_status, actor=actor, reason=reason)
        except ShopStatusError as error:
            raise ShopDecisionError(str(error)) from None
        shop = event.shop
        audit_record(actor=actor, action=action, subject=shop, reason=reason)
    return shop


def shop_suspend(*, shop_id: int, actor: AbstractBaseUser, reason: str) -> "Partner":
    """Take the shop off the market: its products leave the storefront at once. Its paid orders are
    untouched, so the farmer still accepts, packs and hands them over, and buyers still follow them."""
    return _status_move(
        shop_id=shop_id, to_status=Partner.Status.SUSPENDED, actor=actor, reason=reason, action="shop.suspend"
    )


def shop_reinstate(*, shop_id: int, actor: AbstractBaseUser, reason: str) -> "Partner":
    """Put a suspended shop back on the market."""
    return _status_move(
        shop_id=shop_id,
        to_status=Partner.Status.APPROVED,
        actor=actor,
        reason=reason,
        action="shop.reinstate",
    )


def shop_review_required_set(
    *, shop_id: int, actor: AbstractBaseUser, required: bool, reason: str = ""
) -> "Partner":
    """Whether the shop's new listings wait for the association's review before going public. Setting
    the value it already has changes and records nothing."""
    with transaction.atomic():
        shop = for_update(Partner.objects.all()).get(pk=shop_id)
        if shop.listing_review_required == required:
            return shop
        shop.listing_review_required = required
        shop.save(update_fields=["listing_review_required"])
        audit_record(
            actor=actor,
            action="shop.review_required",
            subject=shop,
            reason=reason.strip(),
            details={"required": required},
        )
    return shop

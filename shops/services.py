"""Writes on shops: status moves through an explicit transitions table, each with an event row."""

import datetime
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.locks import for_update
from shops.models import FormSubmission, ShopStatusEvent

if TYPE_CHECKING:
    from oscar.apps.partner.models import Partner
else:
    Partner = get_model("partner", "Partner")
Status = Partner.Status

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.APPLIED: {Status.APPROVED},
    Status.APPROVED: {Status.SUSPENDED},
    Status.SUSPENDED: {Status.APPROVED},
}


class ShopStatusError(ValueError):
    pass


@transaction.atomic
def shop_status_change(
    *, shop_id: int, to_status: str, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ShopStatusEvent:
    """Move a shop to ``to_status`` if the transitions table allows it, and record who and why."""
    shop = for_update(Partner.objects.all()).get(pk=shop_id)
    if to_status not in ALLOWED_TRANSITIONS.get(shop.status, set()):
        raise ShopStatusError(
            _("A shop cannot move from “%(from)s” to “%(to)s”.")
            % {"from": shop.get_status_display(), "to": Status(to_status).label}
        )
    event = ShopStatusEvent.objects.create(  # type: ignore[misc]  # auth.User is the user model; services take AbstractBaseUser (django-stubs' request.user)
        shop=shop, from_status=shop.status, to_status=to_status, actor=actor, reason=reason
    )
    shop.status = to_status
    update_fields = ["status"]
    if to_status == Status.APPROVED and shop.joined_on is None:
        shop.joined_on = timezone.localdate()
        update_fields.append("joined_on")
    shop.save(update_fields=update_fields)
    return event


def farmer_attach(*, shop: "Partner", user: AbstractBaseUser) -> None:
    """Make ``user`` one of the shop's farmers (Oscar's partner users)."""
    shop.users.add(user)


# How long a console page's form token is remembered (shops/console/once.py): far longer than any resend.
FORM_SUBMISSIONS_KEEP_DAYS = 30


def form_submissions_forget() -> int:
    """Forget the console's form tokens older than FORM_SUBMISSIONS_KEEP_DAYS; returns how many."""
    cutoff = timezone.now() - datetime.timedelta(days=FORM_SUBMISSIONS_KEEP_DAYS)
    deleted, _by_model = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted

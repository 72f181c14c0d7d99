"""Oscar's offer applicator, asked only when the site has offers.

Oscar applies offers to the basket on every request that reads it, and again around every addition: each
time a query for the site's offers and one for the basket's vouchers, and before them a count and a load of
the basket's lines (``is_empty``). This marketplace has offers only when the site's admins make them in the
Django admin (a voucher's discount is an offer too). Whether any offer could apply, now or later (one that
has not ended), is kept in the cache for ``OFFERS_KNOWN_SECONDS`` and forgotten at the commit of any change
to an offer, so a new offer applies to the next request. An offer saved at the moment another request
reads "none" can be missed for up to that many seconds; with the cache down, the database is asked each
time. When there is none, the applicator gives the empty result Oscar's would, without a query.

Installed for every ``get_class("offer.applicator", "Applicator")`` by ``marketplace.classes``.
"""

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model, Q
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils import timezone
from oscar.apps.offer.applicator import Applicator as OscarApplicator
from oscar.core.loading import get_model

if TYPE_CHECKING:
    from marketplace.basket.models import Basket

ConditionalOffer = get_model("offer", "ConditionalOffer")

OFFERS_KEY = "basket:offers-in-use"
OFFERS_KNOWN_SECONDS = 60


def offers_in_use() -> bool:
    known = cache.get(OFFERS_KEY)
    if known is not None:
        return bool(known)
    in_use = ConditionalOffer.objects.filter(
        Q(end_datetime__isnull=True) | Q(end_datetime__gt=timezone.now())
    ).exists()
    cache.set(OFFERS_KEY, in_use, OFFERS_KNOWN_SECONDS)
    return in_use


def offers_forget() -> None:
    cache.delete(OFFERS_KEY)


class Applicator(OscarApplicator):
    def get_offers(
        self,
        basket: "Basket",
        user: AbstractBaseUser | AnonymousUser | None = None,
        request: HttpRequest | None = None,
    ) -> list[Any]:
        if not offers_in_use():
            return []
        offers: list[Any] = super().get_offers(basket, user, request)
        return offers


def _offer_changed(sender: type[Model], **kwargs: Any) -> None:
    transaction.on_commit(offers_forget)


def connect() -> None:
    post_save.connect(_offer_changed, sender=ConditionalOffer, dispatch_uid="basket_offers_saved")
    post_delete.connect(_offer_changed, sender=ConditionalOffer, dispatch_uid="basket_offers_deleted")

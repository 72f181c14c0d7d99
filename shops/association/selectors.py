"""Reads for the workspace's overview and decision log."""

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from shops.association.admission_selectors import applications_waiting_count
from shops.association.listing_selectors import review_waiting_counts
from shops.association.models import AUDIT_ACTIONS, AuditEntry
from shops.association.review_moderation import reviews_awaiting_count
from shops.association.waiting import WaitingTile, contributed_tiles


def waiting_tiles() -> list[WaitingTile]:
    """What is waiting for the association's staff, one tile per kind of work with something in it.
    Each part of the workspace built on the association contributes its counter (association.waiting)."""
    tiles: list[WaitingTile] = []
    applications = f"{reverse('association:applications')}?status=submitted"
    tiles.append(WaitingTile(_("shop applications waiting"), applications_waiting_count(), applications))
    listings = review_waiting_counts()
    queue = reverse("association:listings")
    tiles.append(WaitingTile(_("listings awaiting review"), listings["awaiting"], f"{queue}?kind=awaiting"))
    tiles.append(WaitingTile(_("buyers' reports open"), listings["reports"], f"{queue}?kind=reported"))
    reviews = reverse("association:reviews")
    tiles.append(WaitingTile(_("buyers' reviews to moderate"), reviews_awaiting_count(), reviews))
    tiles.extend(contributed_tiles())  # settlement's and the sales review's (association.waiting)
    return [tile for tile in tiles if tile.count]


def audit_entries(*, action: str = "") -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.select_related("actor")
    return entries.filter(action=action) if action else entries


def audit_actions() -> list[tuple[str, str]]:
    """The decisions the log holds, as (code, label in the reader's language), by label."""
    codes = AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct()
    return sorted(((code, str(AUDIT_ACTIONS.get(code, code))) for code in codes), key=lambda pair: pair[1])

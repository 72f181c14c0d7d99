"""Reads for the workspace's overview and decision log."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.association.admission_selectors import applications_waiting_count
from marketplace.association.listing_selectors import review_waiting_counts
from marketplace.association.models import AuditEntry
from marketplace.association.review_moderation import reviews_awaiting_count


@dataclass(frozen=True)
class WaitingTile:
    """One kind of work waiting for the association, with how many and where to do it."""

    label: str
    count: int
    url: str


def waiting_tiles() -> list[WaitingTile]:
    """What is waiting for the association's staff, one tile per kind of work with something in it.
    Each part of the workspace contributes its counter here."""
    tiles: list[WaitingTile] = []
    applications = f"{reverse('association:applications')}?status=submitted"
    tiles.append(WaitingTile(_("shop applications waiting"), applications_waiting_count(), applications))
    listings = review_waiting_counts()
    queue = reverse("association:listings")
    tiles.append(WaitingTile(_("listings awaiting review"), listings["awaiting"], f"{queue}?kind=awaiting"))
    tiles.append(WaitingTile(_("buyers' reports open"), listings["reports"], f"{queue}?kind=reported"))
    reviews = reverse("association:reviews")
    tiles.append(WaitingTile(_("buyers' reviews to moderate"), reviews_awaiting_count(), reviews))
    from marketplace.settlement import selectors as settlement  # settlement builds on the association

    statements = reverse("association:statements")
    tiles.append(
        WaitingTile(
            _("statements to pay"), settlement.statements_to_pay_count(), f"{statements}?status=issued"
        )
    )
    this_month = timezone.localdate().replace(day=1)
    tiles.append(
        WaitingTile(
            _("statements to issue"),
            settlement.statements_to_issue_count(before=this_month),
            f"{statements}?status=draft",
        )
    )
    from marketplace.sales.deliveries import consignments_needing_routing_count  # the sales review's part

    routing = consignments_needing_routing_count()
    tiles.append(WaitingTile(_("parcels needing routing"), routing, reverse("association:logistics")))
    return [tile for tile in tiles if tile.count]


def audit_entries(*, action: str = ""):
    entries = AuditEntry.objects.select_related("actor")
    return entries.filter(action=action) if action else entries


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())

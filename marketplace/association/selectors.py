"""Reads for the workspace's overview and decision log."""

from dataclasses import dataclass

from marketplace.association.models import AuditEntry


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
    return [tile for tile in tiles if tile.count]


def audit_entries(*, action: str = ""):
    entries = AuditEntry.objects.select_related("actor")
    return entries.filter(action=action) if action else entries


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())

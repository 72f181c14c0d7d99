"""The sales review's part of what waits for the association: parcels no partner could be found for, and
legs whose cold chain broke lately."""

from django.urls import reverse
from django.utils.translation import gettext as _

from logistics.performance import (
    COLD_CHAIN_BREACH_DAYS,
    consignments_needing_routing_count,
    legs_cold_chain_broken_count,
)
from shops.association.waiting import WaitingTile, waiting_counter


@waiting_counter
def parcels_waiting() -> list[WaitingTile]:
    return [
        WaitingTile(
            _("parcels needing routing"),
            consignments_needing_routing_count(),
            reverse("association:logistics"),
        ),
        WaitingTile(
            _("cold chains broken in %(days)s days") % {"days": COLD_CHAIN_BREACH_DAYS},
            legs_cold_chain_broken_count(),
            reverse("association:logistics") + "#cold-chain",
        ),
    ]

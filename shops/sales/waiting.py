"""The sales review's part of what waits for the association: parcels no partner could be found for."""

from django.urls import reverse
from django.utils.translation import gettext as _

from logistics.performance import consignments_needing_routing_count
from shops.association.waiting import WaitingTile, waiting_counter


@waiting_counter
def parcels_waiting() -> list[WaitingTile]:
    return [
        WaitingTile(
            _("parcels needing routing"),
            consignments_needing_routing_count(),
            reverse("association:logistics"),
        )
    ]

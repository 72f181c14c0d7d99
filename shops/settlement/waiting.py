"""Settlement's part of what waits for the association: statements to pay, and last months' to issue."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shops.association.waiting import WaitingTile, waiting_counter
from shops.settlement.selectors import statements_to_issue_count, statements_to_pay_count


@waiting_counter
def statements_waiting() -> list[WaitingTile]:
    statements = reverse("association:statements")
    this_month = timezone.localdate().replace(day=1)
    return [
        WaitingTile(_("statements to pay"), statements_to_pay_count(), f"{statements}?status=issued"),
        WaitingTile(
            _("statements to issue"),
            statements_to_issue_count(before=this_month),
            f"{statements}?status=draft",
        ),
    ]

"""What the association's workspace does when the outbox says so: e-mail applicants about their
application, and record a duplicate charge that was refunded where the association sees it."""

from typing import Any

from marketplace.outbox.notices import notice_send_once
from marketplace.outbox.services import subscribe
from marketplace.payments.models import Payment
from marketplace.payments.services import PAYMENT_DUPLICATE_REFUNDED
from marketplace.roles import association_members
from shops.association import admission_notices
from shops.association.admission import APPLICATION_MOVED
from shops.association.audit import audit_record


def duplicate_charge_record(key: str, payload: dict[str, Any]) -> None:
    """A second charge of a paid order was refunded: an entry in the decision log, and an e-mail."""
    payment = Payment.objects.select_related("order").get(pk=payload["payment_id"])
    audit_record(
        actor=None,
        action="payment.duplicate_refund",
        subject=payment.order,
        reason=f"{payment.intent_id} ¥{payload['amount']} → {payload['refund_id']}",
        details=payload,
    )
    notice_send_once(
        kind="duplicate-charge",
        key=payment.intent_id,
        recipients=list(association_members().values_list("email", flat=True)),
        template="duplicate_charge",
        context={"payment": payment, "order": payment.order, "refund_id": payload["refund_id"]},
    )


subscribe(
    topic=APPLICATION_MOVED,
    name="association.application_notice",
    run=lambda key, payload: admission_notices.application_notice_send(event_id=payload["event_id"]),
)
subscribe(topic=PAYMENT_DUPLICATE_REFUNDED, name="association.duplicate_charge", run=duplicate_charge_record)

"""What payments does when the outbox says so. Both talk to Stripe, so they run outside a transaction
(``atomic=False``) and are idempotent on their own."""

from marketplace.outbox.services import subscribe
from marketplace.payments.services import (
    PAYMENT_DUPLICATE,
    STRIPE_EVENT_RECEIVED,
    payment_duplicate_refund,
    stripe_event_process,
)

subscribe(
    topic=STRIPE_EVENT_RECEIVED,
    name="payments.stripe_event_process",
    run=lambda key, payload: stripe_event_process(event_pk=payload["event_pk"]),
    atomic=False,
)
subscribe(
    topic=PAYMENT_DUPLICATE,
    name="payments.duplicate_refund",
    run=lambda key, payload: payment_duplicate_refund(payment_id=payload["payment_id"]),
    atomic=False,
)

"""The Stripe webhook: verify, record the event and its processing in one transaction, answer at once."""

import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.payments.models import Payment, Refund, StripeEvent
from marketplace.payments.services import stripe_event_process, stripe_event_record

logger = logging.getLogger(__name__)

INTENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
}
# Money going back: a refund of the order's charge (the charge names its intent), or a refund's news.
CHARGE_EVENTS = {"charge.refunded"}
REFUND_EVENTS = {"refund.updated", "refund.created", "charge.refund.updated"}
HANDLED = INTENT_EVENTS | CHARGE_EVENTS | REFUND_EVENTS


def _subject(event: stripe.Event) -> str:
    """The id of what the event is about, as processing reads it: an intent's, or a refund's."""
    obj = event.data.object.to_dict() if hasattr(event.data.object, "to_dict") else {}
    value = obj.get("payment_intent") if event.type in CHARGE_EVENTS else obj.get("id")
    return value if isinstance(value, str) else ""


def _ours(event_type: str, object_id: str) -> bool:
    if object_id.startswith("pi_"):
        return Payment.objects.filter(intent_id=object_id).exists()
    if object_id.startswith("re_"):
        return Refund.objects.filter(stripe_refund_id=object_id).exists()
    return False


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:  # noqa: PLR0911
    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("invalid payload or signature")
    if event.type not in HANDLED:
        return HttpResponse("ignored")
    object_id = _subject(event)
    if not _ours(event.type, object_id):
        logger.warning("stripe event %s about %r: not ours", event.id, object_id)
        return HttpResponse("unknown object")
    if stripe_event_record(event_id=event.id, type=event.type, object_id=object_id) is not None:
        return HttpResponse("ok")
    # Stripe sent it before. If it is still unprocessed (the workers are behind, or the broker was down),
    # this retry processes it now; the outbox row then finds it done.
    recorded = StripeEvent.objects.filter(event_id=event.id, processed_at__isnull=True).first()
    if recorded is not None:
        try:
            stripe_event_process(event_pk=recorded.pk)
        except stripe.StripeError:
            logger.warning("stripe event %s: Stripe did not answer, asking for a retry", event.id)
            return HttpResponse("try again", status=503)
        return HttpResponse("processed on retry")
    return HttpResponse("duplicate")

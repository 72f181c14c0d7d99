"""The Stripe webhook: verify, record once, hand the work to Celery, answer at once."""

import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.payments.models import Payment, StripeEvent
from marketplace.payments.tasks import stripe_event_process_task

logger = logging.getLogger(__name__)

HANDLED = {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"}


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("invalid payload or signature")
    if event.type not in HANDLED:
        return HttpResponse("ignored")
    object_id = event.data.object["id"]
    if not Payment.objects.filter(intent_id=object_id).exists():
        logger.warning("stripe event %s for unknown intent %s", event.id, object_id)
        return HttpResponse("unknown intent")
    try:
        with transaction.atomic():
            recorded = StripeEvent.objects.create(event_id=event.id, type=event.type, object_id=object_id)
            stripe_event_process_task.delay_on_commit(recorded.pk)
    except IntegrityError:
        return HttpResponse("duplicate")
    return HttpResponse("ok")

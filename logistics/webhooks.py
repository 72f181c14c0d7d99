"""Partner webhooks: a partner with a ``webhook_url`` is POSTed each new leg booked on it and each move of
its legs' status, signed with its ``webhook_secret``; every delivery, its attempts and their answers are
kept for the partner portal, which can replay one.

The path of an event, each step durable (docs/partner-webhooks.md):

1. routing (a leg made) and ``states.leg_move`` (a leg moved) write an outbox row ``logistics.leg_changed``
   in their own transaction, for partners with a webhook only (``legs_created_emit``, ``leg_moved_emit``);
2. its subscriber (in a transaction) writes the JSON body once (``WebhookPayload``), a ``WebhookDelivery``
   for the partner and an outbox row ``logistics.webhook_send`` for it (``webhook_delivery_create``);
3. that subscriber (outside any transaction: it talks to the network) claims the delivery, POSTs it with a
   short timeout, and records the attempt in another transaction (``webhook_delivery_send``). Anything but
   a 2xx raises, so the outbox tries again after its back-off; after ``LOGISTICS_WEBHOOK_MAX_ATTEMPTS``
   attempts the delivery is marked failed and the row is done.
"""

import datetime
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics.models import (
    Leg,
    LegEvent,
    LogisticsPartner,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookPayload,
)
from marketplace.outbox.services import outbox_emit

# Outbox topics: a leg was made or moved (key: the event), and a delivery is to be sent (key: the delivery).
LEG_CHANGED = "logistics.leg_changed"
WEBHOOK_SEND = "logistics.webhook_send"

# The event types a partner receives (the body's "event" and the X-Xiangwei-Event header).
EVENT_LEG_CREATED = "leg.created"
EVENT_LEG_STATUS_CHANGED = "leg.status_changed"

SIGNATURE_VERSION = "v1"
HEADER_TIMESTAMP = "X-Xiangwei-Timestamp"
HEADER_SIGNATURE = "X-Xiangwei-Signature"
HEADER_EVENT = "X-Xiangwei-Event"
HEADER_DELIVERY = "X-Xiangwei-Delivery"
USER_AGENT = "Xiangwei-Webhooks/1"
# What is kept of a receiver's answer: enough to see what it said.
RESPONSE_KEPT_CHARS = 2000


class WebhookAttemptFailed(RuntimeError):
    """An attempt was not answered 2xx and attempts are left: the outbox runs the send again later."""


class WebhookDeliveryBusy(RuntimeError):
    """Another worker is sending this delivery now (a redelivered outbox message): try again later."""


# --- signing -------------------------------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``v1=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def webhook_signature_verify(
    *, secret: str, timestamp: str, body: bytes, signature: str, tolerance_seconds: int = 300
) -> bool:
    """What a receiver checks (as docs/partner-webhooks.md shows partners): the signature matches, in
    constant time, and the timestamp is recent (a captured request replayed later is refused)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - sent) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))


# --- where a webhook may go ----------------------------------------------------------------------------


def webhook_url_problem(url: str) -> str:
    """Why ``url`` may not be called ("" when it may): only http(s), and, unless
    ``LOGISTICS_WEBHOOK_ALLOW_PRIVATE``, no host that resolves to a private, loopback, link-local or
    otherwise special address (a partner must not make the market call into its own network). Redirects
    are not followed, so an allowed host cannot hand the request on."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return _("Only http:// and https:// addresses can receive webhooks.")
    if settings.LOGISTICS_WEBHOOK_ALLOW_PRIVATE:
        return ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {
            str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        }
    except (OSError, ValueError) as error:
        return _("The webhook's host could not be resolved: %(error)s") % {"error": error}
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return _("The webhook's host resolves to a private or reserved address (%(ip)s).") % {"ip": ip}
    return ""


# --- emitting: in the transaction that made or moved the leg -----------------------------------------


def webhook_partner_ids(partner_ids: Iterable[int]) -> set[int]:
    """Of ``partner_ids``, those with a webhook (the others are sent nothing)."""
    wanted = set(partner_ids)
    if not wanted:
        return set()
    return set(
        LogisticsPartner.objects.filter(pk__in=wanted).exclude(webhook_url="").values_list("pk", flat=True)
    )


def legs_created_emit(*, legs: Iterable[tuple[int, int]]) -> int:
    """New legs, as (leg id, partner id): an outbox row each for those whose partner has a webhook, in the
    caller's transaction. Returns how many."""
    legs = list(legs)
    hooked = webhook_partner_ids(partner_id for _leg_id, partner_id in legs)
    emitted = 0
    for leg_id, partner_id in legs:
        if partner_id in hooked:
            outbox_emit(
                topic=LEG_CHANGED,
                key=f"leg-{leg_id}-created",
                payload={"event": EVENT_LEG_CREATED, "leg_id": leg_id},
            )
            emitted += 1
    return emitted


def leg_moved_emit(*, event: LegEvent, partner_id: int) -> bool:
    """A leg's status moved (``event``): an outbox row if its partner has a webhook."""
    if partner_id not in webhook_partner_ids([partner_id]):
        return False
    outbox_emit(
        topic=LEG_CHANGED,
        key=f"leg-event-{event.pk}",
        payload={"event": EVENT_LEG_STATUS_CHANGED, "leg_id": event.leg_id, "leg_event_id": event.pk},
    )
    return True


# --- the body ------------------------------------------------------------------------------------------


def _region_label(region: Any) -> str:  # noqa: ANN401  (a places.Region or None)
    if region is None:
        return ""
    return f"{region.parent.name} {region.name}" if region.parent is not None else region.name


def leg_webhook_body(*, event_id: str, event: str, leg: Leg, leg_event: LegEvent | None = None) -> dict:
    """What a partner is told of its leg: what its API's leg shows of the parcel's route, without the
    shop's or the buyer's contact details (the partner reads those from ``GET /api/logistics/legs/<id>/``
    with its token). ``event_id`` is the same for every delivery of this event, replays included."""
    consignment = leg.consignment
    body: dict[str, Any] = {
        "event_id": event_id,
        "event": event,
        "occurred_at": (leg_event.created_at if leg_event else leg.created_at).isoformat(),
        "leg": {
            "id": leg.pk,
            "consignment": leg.consignment_id,
            "shop_order_number": consignment.shop_order.number,
            "sequence": leg.sequence,
            "kind": leg.kind,
            "status": leg_event.to_status if leg_event else Leg.Status.ASSIGNED.value,
            "day": leg.day.isoformat(),
            "promised_days": leg.promised_days,
            "cold_chain": consignment.needs_cold_chain,
            "origin": _region_label(consignment.origin),
            "destination": _region_label(consignment.destination),
        },
    }
    if leg_event is not None:
        body["change"] = {
            "from": leg_event.from_status,
            "to": leg_event.to_status,
            "reason": leg_event.reason,
        }
    return body


def _body_encode(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --- delivering ----------------------------------------------------------------------------------------


def webhook_delivery_create(
    *, key: str, event: str, leg_id: int, leg_event_id: int | None = None
) -> WebhookDelivery | None:
    """The ``logistics.leg_changed`` subscriber: the body, the partner's delivery and its send row, in the
    subscriber's transaction (so at most one each per event). None when the partner has no webhook now."""
    existing = WebhookDelivery.objects.filter(key=key).first()
    if existing is not None:
        return existing
    leg = Leg.objects.select_related(
        "partner",
        "consignment__shop_order",
        "consignment__origin__parent",
        "consignment__destination__parent",
    ).get(pk=leg_id)
    if not leg.partner.webhook_url:
        return None
    leg_event = LegEvent.objects.get(pk=leg_event_id) if leg_event_id is not None else None
    payload = WebhookPayload.objects.create(
        event=event,
        body=_body_encode(leg_webhook_body(event_id=key, event=event, leg=leg, leg_event=leg_event)),
    )
    delivery = WebhookDelivery.objects.create(
        partner=leg.partner, payload=payload, leg=leg, event=event, key=key
    )
    _send_emit(delivery)
    return delivery


def _send_emit(delivery: WebhookDelivery) -> None:
    outbox_emit(topic=WEBHOOK_SEND, key=f"delivery-{delivery.pk}", payload={"delivery_id": delivery.pk})


def webhook_delivery_replay(*, delivery_id: int, partner: LogisticsPartner) -> WebhookDelivery:
    """Send one of the partner's deliveries again: a new delivery of the same body (a new delivery id and
    timestamp; the body's ``event_id`` is unchanged), through the outbox like the first. Another partner's
    delivery raises ``WebhookDelivery.DoesNotExist``."""
    with transaction.atomic():
        original = WebhookDelivery.objects.get(pk=delivery_id, partner=partner)
        replay = WebhookDelivery.objects.create(
            partner=partner,
            payload_id=original.payload_id,
            leg_id=original.leg_id,
            event=original.event,
            key=f"replay-{uuid.uuid4().hex}",
            replay_of=original,
        )
        _send_emit(replay)
    return replay


def _claim(delivery_id: int) -> bool:
    """Take the delivery for one send (a conditional UPDATE in its own statement; no lock held after)."""
    now = timezone.now()
    hold = datetime.timedelta(seconds=settings.LOGISTICS_WEBHOOK_TIMEOUT_SECONDS * 2 + 5)
    return bool(
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + hold)
    )


def _post(*, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """POST and return (status code or None, the start of the answer, the error)."""
    try:
        with requests.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.LOGISTICS_WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            answer = response.raw.read(RESPONSE_KEPT_CHARS, decode_content=True) or b""
            return response.status_code, answer.decode("utf-8", "replace"), ""
    except requests.RequestException as error:
        return None, "", f"{type(error).__name__}: {error}"[:RESPONSE_KEPT_CHARS]


def _record(
    *,
    delivery: WebhookDelivery,
    sent_at: datetime.datetime,
    duration_ms: int,
    code: int | None,
    answer: str,
    error: str,
    final: bool = False,
) -> tuple[str, int]:
    """Write the attempt and the delivery's new status in one short transaction; release the claim."""
    succeeded = code is not None and 200 <= code < 300  # noqa: PLR2004  (HTTP's success class)
    with transaction.atomic():
        WebhookDeliveryAttempt.objects.create(
            delivery=delivery,
            sent_at=sent_at,
            duration_ms=duration_ms,
            response_code=code,
            response_body=answer,
            error=error,
        )
        attempts = WebhookDeliveryAttempt.objects.filter(delivery=delivery).count()
        if succeeded:
            status = WebhookDelivery.Status.SUCCEEDED
        elif final or attempts >= settings.LOGISTICS_WEBHOOK_MAX_ATTEMPTS:
            status = WebhookDelivery.Status.FAILED
        else:
            status = WebhookDelivery.Status.PENDING
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=status, claimed_until=None, updated_at=timezone.now()
        )
    return status, attempts


def webhook_delivery_send(*, delivery_id: int) -> str:
    """The ``logistics.webhook_send`` subscriber (no transaction open: it calls the partner): one attempt
    of a pending delivery. Returns the delivery's status; raises ``WebhookAttemptFailed`` when the attempt
    failed and attempts are left, so the outbox backs off and runs it again. A delivery done already is
    left alone; an address that may not be called, or a partner without a secret, fails it at once."""
    if not _claim(delivery_id):
        status = WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        if status is None or status != WebhookDelivery.Status.PENDING:
            return status or "gone"
        raise WebhookDeliveryBusy(f"webhook delivery {delivery_id} is being sent by another worker")
    delivery = WebhookDelivery.objects.select_related("partner", "payload").get(pk=delivery_id)
    partner = delivery.partner
    sent_at = timezone.now()
    problem = webhook_url_problem(partner.webhook_url) if partner.webhook_url else _("No webhook address.")
    if not problem and not partner.webhook_secret:
        problem = _("No webhook secret: the association issues one (admin → logistics partners).")
    if problem:
        status, _attempts = _record(
            delivery=delivery, sent_at=sent_at, duration_ms=0, code=None, answer="", error=problem, final=True
        )
        return status
    body = delivery.payload.body.encode()
    timestamp = str(int(sent_at.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        HEADER_EVENT: delivery.event,
        HEADER_DELIVERY: str(delivery.pk),
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: webhook_signature(secret=partner.webhook_secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    code, answer, error = _post(url=partner.webhook_url, body=body, headers=headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    if code is not None and not 200 <= code < 300:  # noqa: PLR2004
        error = f"HTTP {code}"
    status, attempts = _record(
        delivery=delivery, sent_at=sent_at, duration_ms=duration_ms, code=code, answer=answer, error=error
    )
    if status == WebhookDelivery.Status.PENDING:
        raise WebhookAttemptFailed(
            f"webhook delivery {delivery_id}: attempt {attempts} of "
            f"{settings.LOGISTICS_WEBHOOK_MAX_ATTEMPTS} failed ({error})"
        )
    return status


def partner_webhook_secret_issue(*, partner: LogisticsPartner) -> str:
    """A new webhook secret for ``partner`` (the old one stops verifying); shown to the association once,
    to pass on to the partner."""
    secret = "whsec_" + secrets.token_hex(32)
    LogisticsPartner.objects.filter(pk=partner.pk).update(webhook_secret=secret)
    partner.webhook_secret = secret
    return secret

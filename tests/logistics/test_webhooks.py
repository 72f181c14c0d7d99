"""Partner webhooks: signed with the partner's secret, written to the outbox in the transaction that makes or
moves a leg (a rolled-back one sends nothing), POSTed to a real receiver on 127.0.0.1 that checks the
signature, retried by the outbox's back-off on a 500 or a refused connection and marked failed after the
last attempt, replayed from the portal, and each partner seeing only its own deliveries."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from oscar.test.factories import UserFactory

from logistics.models import Leg, LogisticsPartner, WebhookDelivery
from logistics.routing import consignment_route
from logistics.tracking import leg_accept
from logistics.webhooks import (
    LEG_CHANGED,
    WEBHOOK_SEND,
    webhook_signature,
    webhook_signature_verify,
)
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver, outbox_due
from tests.logistics.conftest import paid_shop_order

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_0123456789"


class Receiver:
    """A partner's webhook endpoint on 127.0.0.1: answers with the next of ``answers`` (then 200) and keeps
    each request with whether its signature verified with ``SECRET``."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": body,
                        "verified": webhook_signature_verify(
                            secret=SECRET,
                            timestamp=self.headers["X-Xiangwei-Timestamp"],
                            body=body,
                            signature=self.headers["X-Xiangwei-Signature"],
                        ),
                    }
                )
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"try later")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/xiangwei"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hook(code: str, url: str) -> LogisticsPartner:
    partner = LogisticsPartner.objects.get(code=code)
    partner.webhook_url, partner.webhook_secret = url, SECRET
    partner.save(update_fields=["webhook_url", "webhook_secret"])
    return partner


def route_tea(tea, capture) -> Leg:
    """Tea from Suichang to Shanghai (sp-datian → hub-suichang → express-national); the carrier's leg."""
    with capture(execute=True):
        consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    return consignment.legs.get(kind=Leg.Kind.CARRIER)


def outbox_run_due(capture) -> None:
    """What the relay does once the back-off has passed: every send row not done is due now and run."""
    OutboxMessage.objects.filter(handler="logistics.webhook_send", done_at=None).update(
        available_at=timezone.now()
    )
    with capture(execute=True):
        for message_id in outbox_due(limit=100):
            try:
                outbox_deliver(message_id=message_id)
            except Exception:  # noqa: BLE001, S112  (recorded on the row, as the worker's would be)
                continue


def partner_client(code: str) -> Client:
    user = UserFactory()
    LogisticsPartner.objects.get(code=code).users.add(user)
    client = Client()
    client.force_login(user)
    return client


# --- signing ---------------------------------------------------------------------------------------


def test_the_signature_verifies_with_the_secret_and_fails_with_another():
    body = b'{"event":"leg.created"}'
    timestamp = str(int(timezone.now().timestamp()))
    signature = webhook_signature(secret=SECRET, timestamp=timestamp, body=body)
    assert signature.startswith("v1=")
    assert webhook_signature_verify(secret=SECRET, timestamp=timestamp, body=body, signature=signature)
    assert not webhook_signature_verify(secret="another", timestamp=timestamp, body=body, signature=signature)
    assert not webhook_signature_verify(
        secret=SECRET, timestamp=timestamp, body=body + b" ", signature=signature
    )
    old = str(int(timezone.now().timestamp()) - 3600)
    stale = webhook_signature(secret=SECRET, timestamp=old, body=body)
    assert not webhook_signature_verify(secret=SECRET, timestamp=old, body=body, signature=stale)


# --- emitting with the change ----------------------------------------------------------------------


def test_a_new_leg_writes_its_outbox_row_in_the_same_transaction(tea):
    hook("express-national", "http://127.0.0.1:9/")
    shop_order = paid_shop_order(tea)
    written_inside = []

    def route_then_fail() -> None:
        with transaction.atomic():
            consignment_route(shop_order_id=shop_order.pk)
            written_inside.append(OutboxMessage.objects.filter(topic=LEG_CHANGED).count())
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        route_then_fail()
    assert written_inside == [1]
    assert not OutboxMessage.objects.filter(topic=LEG_CHANGED).exists()
    assert not Leg.objects.exists()

    consignment = consignment_route(shop_order_id=shop_order.pk)
    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    # Only the partner with a webhook: the service point and the hub have none.
    assert list(OutboxMessage.objects.filter(topic=LEG_CHANGED).values_list("key", "payload")) == [
        (f"leg-{carrier.pk}-created", {"event": "leg.created", "leg_id": carrier.pk})
    ]


def test_a_status_move_writes_its_outbox_row(tea, django_capture_on_commit_callbacks):
    carrier = route_tea(tea, django_capture_on_commit_callbacks)
    hook("express-national", "http://127.0.0.1:9/")
    leg_accept(leg_id=carrier.pk, partner=carrier.partner)
    row = OutboxMessage.objects.get(topic=LEG_CHANGED)
    assert row.key.startswith("leg-event-")
    assert row.payload["event"] == "leg.status_changed"


def test_a_partner_without_a_webhook_is_sent_nothing(tea, django_capture_on_commit_callbacks):
    carrier = route_tea(tea, django_capture_on_commit_callbacks)
    leg_accept(leg_id=carrier.pk, partner=carrier.partner)
    assert not OutboxMessage.objects.filter(topic__in=[LEG_CHANGED, WEBHOOK_SEND]).exists()
    assert not WebhookDelivery.objects.exists()


# --- delivering --------------------------------------------------------------------------------------


def test_a_new_leg_is_posted_signed_and_recorded(tea, receiver, django_capture_on_commit_callbacks):
    hook("express-national", receiver.url)
    carrier = route_tea(tea, django_capture_on_commit_callbacks)

    [request] = receiver.requests
    assert request["verified"]
    body = json.loads(request["body"])
    assert body["event"] == "leg.created"
    assert body["leg"]["id"] == carrier.pk
    assert body["leg"]["status"] == "assigned"
    assert body["leg"]["shop_order_number"] == carrier.consignment.shop_order.number
    assert "王小明" not in request["body"].decode()  # no buyer's name or address in the body
    delivery = WebhookDelivery.objects.get()
    assert request["headers"]["X-Xiangwei-Event"] == "leg.created"
    assert request["headers"]["X-Xiangwei-Delivery"] == str(delivery.pk)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    [attempt] = delivery.attempts.all()
    assert (attempt.response_code, attempt.response_body, attempt.error) == (200, "ok", "")


def test_a_500_is_retried_with_back_off_and_then_succeeds(tea, receiver, django_capture_on_commit_callbacks):
    receiver.answers = [500]
    hook("express-national", receiver.url)
    route_tea(tea, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    row = OutboxMessage.objects.get(handler="logistics.webhook_send")
    assert row.failures == 1
    assert row.done_at is None
    assert row.available_at > timezone.now()  # the outbox's back-off

    outbox_run_due(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert [a.response_code for a in delivery.attempts.all()] == [500, 200]
    assert [r["verified"] for r in receiver.requests] == [True, True]
    assert (
        receiver.requests[0]["headers"]["X-Xiangwei-Delivery"]
        == receiver.requests[1]["headers"]["X-Xiangwei-Delivery"]
    )
    assert OutboxMessage.objects.get(handler="logistics.webhook_send").done_at is not None


def test_a_receiver_that_is_down_is_retried_then_the_delivery_fails(
    tea, settings, django_capture_on_commit_callbacks
):
    settings.LOGISTICS_WEBHOOK_MAX_ATTEMPTS = 3
    hook("express-national", f"http://127.0.0.1:{unused_port()}/hooks")
    route_tea(tea, django_capture_on_commit_callbacks)
    outbox_run_due(django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.PENDING
    outbox_run_due(django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    attempts = list(delivery.attempts.all())
    assert len(attempts) == 3
    assert all(a.response_code is None and "ConnectionError" in a.error for a in attempts)
    assert OutboxMessage.objects.get(handler="logistics.webhook_send").done_at is not None  # given up
    outbox_run_due(django_capture_on_commit_callbacks)
    assert delivery.attempts.count() == 3


def test_a_private_address_is_refused_where_the_setting_says_so(
    tea, receiver, settings, django_capture_on_commit_callbacks
):
    settings.LOGISTICS_WEBHOOK_ALLOW_PRIVATE = False
    hook("express-national", receiver.url)
    route_tea(tea, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "127.0.0.1" in delivery.attempts.get().error
    assert receiver.requests == []


# --- the portal ---------------------------------------------------------------------------------------


def test_the_portal_lists_a_delivery_and_replays_it(tea, receiver, django_capture_on_commit_callbacks):
    hook("express-national", receiver.url)
    route_tea(tea, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    client = partner_client("express-national")

    page = client.get("/logistics/webhooks/")
    assert page.status_code == 200
    assert f'data-delivery-id="{delivery.pk}"' in page.content.decode()
    detail = client.get(f"/logistics/webhooks/{delivery.pk}/")
    assert detail.status_code == 200
    assert "leg.created" in detail.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/logistics/webhooks/{delivery.pk}/replay/")
    replay = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/logistics/webhooks/{replay.pk}/"
    assert replay.replay_of == delivery
    assert replay.payload_id == delivery.payload_id
    assert replay.status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.requests) == 2
    assert receiver.requests[1]["verified"]
    assert receiver.requests[1]["body"] == receiver.requests[0]["body"]  # the same event, same event_id
    assert receiver.requests[1]["headers"]["X-Xiangwei-Delivery"] == str(replay.pk)


def test_a_partner_sees_only_its_own_deliveries(tea, receiver, django_capture_on_commit_callbacks):
    hook("express-national", receiver.url)
    route_tea(tea, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    other = partner_client("hub-suichang")

    assert f'data-delivery-id="{delivery.pk}"' not in other.get("/logistics/webhooks/").content.decode()
    assert other.get(f"/logistics/webhooks/{delivery.pk}/").status_code == 404
    assert other.post(f"/logistics/webhooks/{delivery.pk}/replay/").status_code == 404
    assert WebhookDelivery.objects.count() == 1

"""Cold-chain readings: posted by a partner for its own leg through the API (a good batch, another partner's
leg, malformed input named, duplicates ignored), sent by a truck's logger over MQTT (signed; another
partner's leg and malformed messages refused), the leg flagged once at its first out-of-band reading with
the association told, and the summary the portal and the trace page show."""

import datetime
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from logistics.coldchain import COLD_CHAIN_BREACH, leg_band, logger_payload_record
from logistics.models import Leg, LegTemperatureReading, LogisticsPartner, TemperatureLogger
from logistics.routing import consignment_route
from logistics.selectors import leg_temperature_summary
from logistics.services import partner_token_issue
from marketplace.outbox.models import OutboxMessage
from tests.factories import association_member
from tests.logistics.conftest import paid_shop_order

pytestmark = pytest.mark.django_db


def api_client(partner: LogisticsPartner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {partner_token_issue(partner=partner, label='test')}")
    return client


@pytest.fixture
def chilled_leg(peaches) -> Leg:
    """Peaches (kept chilled, 0 … 8 °C) from Yangshan: the cold-chain carrier's leg."""
    peaches.storage = "chilled"
    peaches.save(update_fields=["storage"])
    consignment = consignment_route(shop_order_id=paid_shop_order(peaches).pk)
    leg = consignment.legs.get(kind=Leg.Kind.CARRIER)
    # Booked two hours ago: readings may not be older than their leg.
    Leg.objects.filter(pk=leg.pk).update(created_at=timezone.now() - datetime.timedelta(hours=2))
    leg.refresh_from_db()
    return leg


def minutes_ago(minutes: int) -> str:
    return (timezone.now() - datetime.timedelta(minutes=minutes)).isoformat()


def url(leg: Leg) -> str:
    return f"/api/logistics/legs/{leg.pk}/temperatures/"


# --- the partner API -----------------------------------------------------------------------------------


def test_a_good_batch_is_recorded(chilled_leg):
    client = api_client(chilled_leg.partner)
    readings = [
        {"measured_at": minutes_ago(3 - i), "celsius": 3.5 + i, "logger_id": "truck-7"} for i in range(3)
    ]
    response = client.post(url(chilled_leg), {"readings": readings}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "accepted": 3,
        "duplicates": 0,
        "band": "0 … 8 °C",
        "cold_chain_breach_at": None,
    }
    assert sorted(LegTemperatureReading.objects.values_list("celsius", flat=True)) == [
        Decimal("3.5"),
        Decimal("4.5"),
        Decimal("5.5"),
    ]
    listed = client.get(url(chilled_leg)).json()
    assert (listed["storage"], listed["band_low"], listed["band_high"]) == ("chilled", 0.0, 8.0)
    assert [r["celsius"] for r in listed["readings"]] == [3.5, 4.5, 5.5]
    assert {r["source"] for r in listed["readings"]} == {"api"}


def test_another_partners_leg_is_404(chilled_leg):
    other = LogisticsPartner.objects.filter(active=True).exclude(pk=chilled_leg.partner_id).first()
    client = api_client(other)
    body = {"readings": [{"measured_at": minutes_ago(1), "celsius": 4}]}
    assert client.post(url(chilled_leg), body, format="json").status_code == 404
    assert client.get(url(chilled_leg)).status_code == 404
    assert not LegTemperatureReading.objects.exists()


@pytest.mark.parametrize(
    ("reading", "field", "words"),
    [
        ({"measured_at": "2026-05-01T09:30:00", "celsius": 4}, "readings", "[0] measured_at"),
        ({"measured_at": "2999-05-01T09:30:00+08:00", "celsius": 4}, "readings", "[0] measured_at"),
        ({"measured_at": "2000-05-01T09:30:00+08:00", "celsius": 4}, "readings", "[0] measured_at"),
        ({"measured_at": "now", "celsius": 4}, "readings", "[0] measured_at"),
        ({"celsius": 4}, "readings", "[0] measured_at"),
        ({"measured_at": None, "celsius": 99}, "readings", "[0] celsius"),
        ({"measured_at": None, "celsius": "warm"}, "readings", "[0] celsius"),
    ],
)
def test_a_malformed_reading_is_400_naming_it(chilled_leg, reading, field, words):
    if reading.get("measured_at", "") is None:
        reading["measured_at"] = minutes_ago(1)
    client = api_client(chilled_leg.partner)
    good = {"measured_at": minutes_ago(2), "celsius": 4}
    response = client.post(url(chilled_leg), {"readings": [reading, good]}, format="json")
    assert response.status_code == 400
    messages = response.json()[field]
    assert all(isinstance(m, str) for m in messages)
    assert any(words in m for m in messages), messages
    assert not LegTemperatureReading.objects.exists()  # all or nothing


def test_an_empty_or_oversized_batch_is_400(chilled_leg):
    client = api_client(chilled_leg.partner)
    assert client.post(url(chilled_leg), {"readings": []}, format="json").status_code == 400
    many = [{"measured_at": minutes_ago(1), "celsius": 4}] * 501
    response = client.post(url(chilled_leg), {"readings": many}, format="json")
    assert response.status_code == 400
    assert "readings" in response.json()
    assert client.post(url(chilled_leg), {"readings": "4"}, format="json").status_code == 400


def test_a_duplicate_is_ignored(chilled_leg):
    client = api_client(chilled_leg.partner)
    body = {"readings": [{"measured_at": minutes_ago(1), "celsius": 4, "logger_id": "truck-7"}]}
    assert client.post(url(chilled_leg), body, format="json").json()["accepted"] == 1
    again = client.post(url(chilled_leg), body, format="json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    assert LegTemperatureReading.objects.count() == 1


def test_out_of_band_flags_the_leg_once_and_tells_the_association(
    chilled_leg, django_capture_on_commit_callbacks
):
    association_member(email="assoc@example.cn")
    client = api_client(chilled_leg.partner)
    warm = minutes_ago(20)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(chilled_leg),
            {
                "readings": [
                    {"measured_at": minutes_ago(30), "celsius": 5},
                    {"measured_at": warm, "celsius": 11.2},
                ]
            },
            format="json",
        )
        client.post(
            url(chilled_leg), {"readings": [{"measured_at": minutes_ago(10), "celsius": 12}]}, format="json"
        )
    assert response.status_code == 201
    chilled_leg.refresh_from_db()
    assert chilled_leg.cold_chain_breach_at == datetime.datetime.fromisoformat(warm)
    assert response.json()["cold_chain_breach_at"] is not None
    [row] = OutboxMessage.objects.filter(topic=COLD_CHAIN_BREACH)
    assert row.key == f"leg-{chilled_leg.pk}"
    assert row.payload["celsius"] == "11.2"
    [notice] = [m for m in mail.outbox if "assoc@example.cn" in m.to]
    assert chilled_leg.consignment.shop_order.number in notice.subject


# --- truck loggers over MQTT ---------------------------------------------------------------------------


@pytest.fixture
def truck_logger(chilled_leg) -> TemperatureLogger:
    return TemperatureLogger.objects.create(partner=chilled_leg.partner, logger_id="truck-7", secret="s3cret")


LOGGER_SECRET = "s3cret"


def message(body: dict | str, secret: str = LOGGER_SECRET) -> bytes:
    text = body if isinstance(body, str) else json.dumps(body)
    sig = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"body": text, "sig": sig}).encode()


def test_a_logger_message_is_recorded(truck_logger, chilled_leg):
    body = {
        "leg": chilled_leg.pk,
        "readings": [
            {"measured_at": minutes_ago(2), "celsius": 3.1},
            {"measured_at": minutes_ago(1), "celsius": "9.0"},
        ],
    }
    outcome = logger_payload_record(topic="coldchain/truck-7/readings", payload=message(body))
    assert (outcome.accepted, outcome.rejected, outcome.reason) == (2, 0, "")
    assert set(LegTemperatureReading.objects.values_list("source", "logger_id")) == {("mqtt", "truck-7")}
    chilled_leg.refresh_from_db()
    assert chilled_leg.cold_chain_breach_at is not None  # 9.0 °C is out of 0 … 8
    again = logger_payload_record(topic="coldchain/truck-7/readings", payload=message(body))
    assert (again.accepted, again.duplicates) == (0, 2)


def test_a_logger_message_with_a_bad_signature_is_refused(truck_logger, chilled_leg):
    body = {"leg": chilled_leg.pk, "readings": [{"measured_at": minutes_ago(1), "celsius": 3}]}
    outcome = logger_payload_record(topic="coldchain/truck-7/readings", payload=message(body, secret="guess"))
    assert (outcome.accepted, outcome.rejected, outcome.reason) == (0, 1, "bad signature")
    assert not LegTemperatureReading.objects.exists()


def test_a_logger_cannot_write_another_partners_leg(truck_logger, tea):
    other_leg = consignment_route(shop_order_id=paid_shop_order(tea).pk).legs.get(kind=Leg.Kind.CARRIER)
    assert other_leg.partner_id != truck_logger.partner_id
    body = {"leg": other_leg.pk, "readings": [{"measured_at": minutes_ago(1), "celsius": 3}]}
    outcome = logger_payload_record(topic="coldchain/truck-7/readings", payload=message(body))
    assert outcome.accepted == 0
    assert "not a leg of the logger's partner" in outcome.reason
    assert not LegTemperatureReading.objects.exists()


@pytest.mark.parametrize(
    ("topic", "payload", "words"),
    [
        ("coldchain/truck-7/other", None, "topic"),
        ("coldchain/truck-9/readings", None, "no active logger"),
        ("coldchain/truck-7/readings", b"\xff\xfe", "envelope"),
        ("coldchain/truck-7/readings", b'{"body": {"leg": 1}, "sig": "00"}', "envelope"),
        ("coldchain/truck-7/readings", "not json", "body"),
        ("coldchain/truck-7/readings", {"leg": "1", "readings": []}, "body"),
        ("coldchain/truck-7/readings", {"leg": 1, "readings": []}, "no readings"),
    ],
)
def test_a_malformed_logger_message_is_refused(truck_logger, topic, payload, words):
    raw = payload if isinstance(payload, bytes) else message(payload or {"leg": 1, "readings": []})
    outcome = logger_payload_record(topic=topic, payload=raw)
    assert outcome.accepted == 0
    assert outcome.rejected >= 1
    assert words in outcome.reason, outcome.reason


def test_bad_readings_in_a_logger_message_are_refused_one_by_one(truck_logger, chilled_leg):
    body = {
        "leg": chilled_leg.pk,
        "readings": [
            {"measured_at": minutes_ago(1), "celsius": 3},
            {"measured_at": minutes_ago(1), "celsius": 80},
            {"measured_at": "yesterday", "celsius": 3},
        ],
    }
    outcome = logger_payload_record(topic="coldchain/truck-7/readings", payload=message(body))
    assert (outcome.accepted, outcome.rejected) == (1, 2)
    assert outcome.reason.startswith("reading 1:")


# --- bands and the summary -----------------------------------------------------------------------------


def test_the_band_is_the_strictest_of_the_parcels_goods(chilled_leg, tea):
    assert (leg_band(chilled_leg).low, leg_band(chilled_leg).high) == (Decimal(0), Decimal(8))
    tea.storage = "ambient"
    tea.save(update_fields=["storage"])
    tea_leg = consignment_route(shop_order_id=paid_shop_order(tea).pk).legs.get(kind=Leg.Kind.CARRIER)
    assert leg_band(tea_leg).storage == "ambient"


def test_the_summary_gives_band_extremes_breach_and_points(chilled_leg, django_assert_max_num_queries):
    empty = leg_temperature_summary(chilled_leg)
    assert (empty.readings_count, empty.min, empty.max, empty.points, empty.chart()) == (
        0,
        None,
        None,
        [],
        {},
    )
    client = api_client(chilled_leg.partner)
    readings = [{"measured_at": minutes_ago(60 - i), "celsius": 2 + (i % 5)} for i in range(40)]
    readings.append({"measured_at": minutes_ago(5), "celsius": -1.5})
    client.post(url(chilled_leg), {"readings": readings}, format="json")
    chilled_leg.refresh_from_db()
    with django_assert_max_num_queries(3):
        summary = leg_temperature_summary(chilled_leg)
    assert (summary.band_low, summary.band_high, summary.storage) == (Decimal(0), Decimal(8), "chilled")
    assert summary.readings_count == 41
    assert (summary.min, summary.max) == (Decimal("-1.5"), Decimal("6.0"))
    assert summary.breach_at == chilled_leg.cold_chain_breach_at is not None
    assert [p.in_band for p in summary.points].count(False) == 1
    assert summary.chart()["outside"]


def test_the_portal_leg_page_shows_the_temperatures(chilled_leg):
    from django.test import Client  # noqa: PLC0415
    from oscar.test.factories import UserFactory  # noqa: PLC0415

    LegTemperatureReading.objects.create(
        leg=chilled_leg, measured_at=timezone.now(), celsius=Decimal("4.0"), source="api"
    )
    user = UserFactory()
    chilled_leg.partner.users.add(user)
    client = Client()
    client.force_login(user)
    page = client.get(f"/logistics/legs/{chilled_leg.pk}/").content.decode()
    assert 'data-testid="temperatures"' in page
    assert "0 … 8 °C" in page


def test_the_association_sees_broken_cold_chains_on_its_logistics_page_and_overview(client, chilled_leg):
    member = association_member()
    client.force_login(member)
    home = client.get(reverse("association:home"))
    tiles = {tile.url: tile.count for tile in home.context["waiting"]}
    assert tiles.get(reverse("association:logistics") + "#cold-chain", 0) == 0  # shown when there is one
    api_client(chilled_leg.partner).post(
        url(chilled_leg), {"readings": [{"measured_at": minutes_ago(5), "celsius": 12.5}]}, format="json"
    )
    page = client.get(reverse("association:logistics"))
    listed = page.context["cold_chain_broken"]
    assert [leg.pk for leg in listed] == [chilled_leg.pk]
    assert chilled_leg.consignment.shop_order.number in page.content.decode()
    home = client.get(reverse("association:home"))
    tiles = {tile.url: tile.count for tile in home.context["waiting"]}
    assert tiles[reverse("association:logistics") + "#cold-chain"] == 1

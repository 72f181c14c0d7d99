"""The pure ingestion function: what is stored, what is refused and counted, the roll-ups and alerts."""

import datetime
import json

import pytest

from marketplace.outbox.models import OutboxMessage
from shops.orchard.ingest import readings_ingest, topic_for
from shops.orchard.metrics import MetricChoice
from shops.orchard.models import Alert, DailyRollup, HourlyRollup, Reading, Rejection, RejectionCount
from shops.orchard.services import alert_rule_add, device_secret_rotate
from tests.shops.orchard.conftest import NOW, at, message

pytestmark = pytest.mark.django_db

AIR = MetricChoice.AIR_TEMP_C


def rejections(device_key: str) -> dict[str, int]:
    return dict(RejectionCount.objects.filter(device_key=device_key).values_list("reason", "count"))


def test_good_readings_are_stored_with_their_roll_ups(orchard_a):
    readings = [("air_temp_c", at(-1 + i / 6), 20.0 + i) for i in range(3)] + [
        ("soil_moisture_pct", at(-1), 31.5)
    ]
    outcome = readings_ingest([message(orchard_a.device, readings)], now=NOW)

    assert outcome.readings_stored == 4
    assert not outcome.rejected
    assert Reading.objects.filter(device=orchard_a.device).count() == 4
    hour = HourlyRollup.objects.get(plot=orchard_a.plot, metric=AIR)
    assert (hour.value_min, hour.value_max, hour.value_sum, hour.samples) == (20.0, 22.0, 63.0, 3)
    assert hour.bucket == NOW - datetime.timedelta(hours=1)
    day = DailyRollup.objects.get(plot=orchard_a.plot, metric=AIR)
    assert day.day == datetime.date(2026, 7, 10)  # 19:00–19:20 in Shanghai
    orchard_a.device.refresh_from_db()
    assert orchard_a.device.last_seen_at == NOW


def test_roll_ups_add_up_across_batches_and_devices_of_the_plot(orchard_a):
    from shops.orchard.services import device_add

    second = device_add(plot=orchard_a.plot, device_id="ya-0002", kind="weather")
    readings_ingest([message(orchard_a.device, [("air_temp_c", at(-2), 10.0)])], now=NOW)
    readings_ingest(
        [
            message(second, [("air_temp_c", at(-2 + 0.5), 14.0)]),
            message(orchard_a.device, [("air_temp_c", at(-2 + 0.25), 6.0)], seq=2),
        ],
        now=NOW,
    )
    hour = HourlyRollup.objects.get(plot=orchard_a.plot, metric=AIR)
    assert (hour.value_min, hour.value_max, hour.value_sum, hour.samples) == (6.0, 14.0, 30.0, 3)
    assert hour.mean == 10.0
    assert DailyRollup.objects.get(plot=orchard_a.plot, metric=AIR).samples == 3


def test_malformed_messages_and_readings_are_refused_and_counted(orchard_a):
    device = orchard_a.device
    messages = [
        (topic_for(device.device_id), b"{not json"),
        (topic_for(device.device_id), json.dumps({"body": {"a": 1}, "sig": "00"}).encode()),
        ("orchard/ya-0001/other", b"{}"),
        message(
            device,
            [
                ("air_temp_c", "yesterday", 3.0),
                ("wind_kmh", at(-1), 3.0),
                ("air_temp_c", at(-1), "warm"),
                ("air_temp_c", "2026-07-10T10:00:00", 3.0),
                ("air_temp_c", at(-1), float("nan")),
                ("air_temp_c", at(-1), True),
            ],
        ),
        message(device, [("air_temp_c", at(-3), 18.0)], seq=9),
    ]
    outcome = readings_ingest(messages, now=NOW)

    assert outcome.readings_stored == 1
    assert outcome.rejected == {Rejection.MALFORMED: 3 + 6}
    assert rejections("ya-0001") == {"malformed": 9}


def test_a_wrong_signature_or_an_unknown_device_stores_nothing(orchard_a):
    forged = message(orchard_a.device, [("air_temp_c", at(-1), 1.0)], secret="0" * 64)
    unknown = ("orchard/nobody-1/readings", forged[1])
    outcome = readings_ingest([forged, unknown], now=NOW)

    assert outcome.readings_stored == 0
    assert outcome.rejected == {Rejection.BAD_SIGNATURE: 1, Rejection.UNKNOWN_DEVICE: 1}
    assert not Reading.objects.exists()
    assert rejections("ya-0001") == {"bad_signature": 1}
    assert rejections("nobody-1") == {"unknown_device": 1}


def test_a_device_of_another_shop_cannot_write_to_your_plot(orchard_a, orchard_b):
    # B's own device, correctly signed, claiming A's plot; and B's device publishing under A's device id.
    claims_plot = message(orchard_b.device, [("air_temp_c", at(-1), 1.0)], plot=orchard_a.plot.pk)
    claims_device = message(
        orchard_b.device, [("air_temp_c", at(-1), 1.0)], topic_device=orchard_a.device.device_id
    )
    body_mismatch = message(
        orchard_b.device, [("air_temp_c", at(-1), 1.0)], body_device=orchard_a.device.device_id
    )
    outcome = readings_ingest([claims_plot, claims_device, body_mismatch], now=NOW)

    assert outcome.readings_stored == 0
    # Under A's topic B's signature does not verify with A's secret; the others name a plot or device
    # that is not theirs.
    assert outcome.rejected == {Rejection.FOREIGN_PLOT: 2, Rejection.BAD_SIGNATURE: 1}
    assert not HourlyRollup.objects.filter(plot=orchard_a.plot).exists()


def test_out_of_range_too_early_and_too_late_readings_are_refused_alone(orchard_a, settings):
    settings.ORCHARD_READINGS_KEEP_DAYS = 400
    readings = [
        ("air_temp_c", at(-1), 75.0),
        ("soil_moisture_pct", at(-1), -3.0),
        ("air_temp_c", at(+1), 20.0),  # an hour ahead of the clock
        ("air_temp_c", at(-24 * 401), 20.0),
        ("air_temp_c", at(-24 * 399), 20.0),  # late but kept: within the season
        ("air_humidity_pct", at(-1), 100),
    ]
    outcome = readings_ingest([message(orchard_a.device, readings)], now=NOW)

    assert outcome.readings_stored == 2
    assert outcome.rejected == {Rejection.OUT_OF_RANGE: 2, Rejection.TOO_EARLY: 1, Rejection.TOO_LATE: 1}


def test_duplicates_are_dropped_by_the_database_and_not_added_to_roll_ups_twice(orchard_a):
    first = message(orchard_a.device, [("air_temp_c", at(-1), 10.0), ("air_temp_c", at(-0.5), 12.0)])
    readings_ingest([first], now=NOW)
    # The same message again (a QoS 1 redelivery) and a repeat inside one message.
    again = message(
        orchard_a.device,
        [("air_temp_c", at(-1), 10.0), ("air_temp_c", at(-0.75), 11.0), ("air_temp_c", at(-0.75), 11.0)],
        seq=2,
    )
    outcome = readings_ingest([first, again], now=NOW)

    assert outcome.readings_stored == 1
    assert outcome.rejected == {Rejection.DUPLICATE: 4}
    assert rejections("ya-0001") == {"duplicate": 4}
    hour = HourlyRollup.objects.get(plot=orchard_a.plot, metric=AIR)
    assert (hour.value_sum, hour.samples) == (33.0, 3)


def test_a_late_reading_updates_the_roll_up_of_its_hour(orchard_a):
    readings_ingest([message(orchard_a.device, [("air_temp_c", at(-30), 8.0)])], now=NOW)
    later = NOW + datetime.timedelta(hours=5)
    # A reading of that hour that the device had buffered arrives hours later.
    outcome = readings_ingest(
        [message(orchard_a.device, [("air_temp_c", at(-30 + 0.5), 2.0)], seq=2)], now=later
    )

    assert outcome.readings_stored == 1
    hour = HourlyRollup.objects.get(plot=orchard_a.plot, metric=AIR)
    assert (hour.value_min, hour.value_max, hour.samples) == (2.0, 8.0, 2)
    assert DailyRollup.objects.get(plot=orchard_a.plot, metric=AIR).value_min == 2.0


def test_after_a_rotation_the_old_secret_verifies_only_for_the_grace_period(orchard_a, settings):
    settings.ORCHARD_SECRET_GRACE_HOURS = 24
    old_secret = orchard_a.device.secret
    device_secret_rotate(device=orchard_a.device)
    buffered = message(orchard_a.device, [("air_temp_c", at(-2), 9.0)], secret=old_secret)
    fresh = message(orchard_a.device, [("air_temp_c", at(-1), 9.5)], seq=2)
    assert readings_ingest([buffered, fresh]).readings_stored == 2

    orchard_a.device.secret_rotated_at -= datetime.timedelta(hours=25)
    orchard_a.device.save()
    outcome = readings_ingest([message(orchard_a.device, [("air_temp_c", at(-0.5), 9.0)], secret=old_secret)])
    assert outcome.rejected == {Rejection.BAD_SIGNATURE: 1}


def test_a_frost_night_raises_one_alert_per_rule_and_day_with_its_worst_reading(
    orchard_a, mailoutbox, django_capture_on_commit_callbacks
):
    frost = alert_rule_add(plot=orchard_a.plot, preset="frost")
    alert_rule_add(plot=orchard_a.plot, preset="drought")
    night = [("air_temp_c", at(-10 + h), 3.0 - h) for h in range(5)]  # 3, 2, 1, 0, −1 °C
    with django_capture_on_commit_callbacks(execute=True):
        outcome = readings_ingest([message(orchard_a.device, night)], now=NOW)
    # Colder still later that night, in another batch: the day already has its alert.
    readings_ingest([message(orchard_a.device, [("air_temp_c", at(-4), -2.5)], seq=2)], now=NOW)

    assert outcome.alerts_raised == 1
    alert = Alert.objects.get()
    assert (alert.rule, alert.value) == (frost, -1.0)
    assert alert.measured_at == NOW - datetime.timedelta(hours=6)
    assert (
        OutboxMessage.objects.filter(topic="orchard.alert_raised", key=f"orchard-alert-{alert.pk}").count()
        == 1
    )
    # The embedded default delivers the outbox row at once: the farmer is e-mailed.
    assert [m.to for m in mailoutbox] == [[orchard_a.farmer.email]]
    assert "东坡一号地" in mailoutbox[0].subject
    assert "/shop/orchard/alerts/" in mailoutbox[0].body

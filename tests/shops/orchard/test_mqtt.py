"""Ingestion against the real Mosquitto on 127.0.0.1:1883: the ingester (``shops.orchard.mqtt``, what
``manage.py orchard_ingest`` runs) subscribes, devices publish with paho, and the test waits for the
database. Skipped when no broker answers, unless REQUIRE_MQTT=1 (.ci/run), where that fails instead.

Other tests may publish on the same broker at the same time (xdist workers), so each test names its own
devices and client id and looks only at their rows."""

import os
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from django.db import connection
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shops.orchard.ingest import topic_for
from shops.orchard.models import HourlyRollup, Reading, RejectionCount
from shops.orchard.mqtt import Ingester
from shops.orchard.services import device_add
from tests.shops.orchard.conftest import message, orchard

pytestmark = [pytest.mark.mqtt, pytest.mark.django_db(transaction=True)]

HOST, PORT = "127.0.0.1", 1883
WAIT_SECONDS = 30


@pytest.fixture(autouse=True)
def broker():
    try:
        socket.create_connection((HOST, PORT), timeout=1).close()
    except OSError:
        reason = f"no MQTT broker on {HOST}:{PORT} (.ci/run starts Mosquitto)"
        if os.environ.get("REQUIRE_MQTT") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def now_at(hours: float) -> str:
    moment = timezone.now() + timezone.timedelta(hours=hours)
    return moment.astimezone(timezone.get_default_timezone()).isoformat()


class Running:
    """An ingester on its own thread with its own database connection."""

    def __init__(self, client_id: str):
        self.ingester = Ingester(host=HOST, port=PORT, client_id=client_id, batch_size=50, wait_seconds=0.05)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ingester.connected.wait(10), "the ingester did not connect"
        time.sleep(0.3)  # its subscription reaches the broker

    def _run(self):
        try:
            self.ingester.run()
        finally:
            connection.close()

    def stop(self):
        self.ingester.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()


def session_forget(client_id: str) -> None:
    """Drop the broker's persistent session of ``client_id`` (a clean start with no expiry)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(HOST, PORT, clean_start=True, properties=properties)
    client.disconnect()


def publish(messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-device-{uuid.uuid4().hex[:8]}")
    client.connect(HOST, PORT)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def wait_for(check, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"waited {WAIT_SECONDS} s for {what}")


def refused(device_key: str) -> dict[str, int]:
    return dict(RejectionCount.objects.filter(device_key=device_key).values_list("reason", "count"))


def test_readings_published_over_mqtt_are_stored_and_bad_ones_counted():
    tag = uuid.uuid4().hex[:6]
    a = orchard("桃源果园", "东坡一号地", f"mq-a-{tag}")
    b = orchard("龙谷茶舍", "茶山南坡", f"mq-b-{tag}")
    late = device_add(plot=a.plot, device_id=f"mq-late-{tag}", kind="soil")
    stranger = f"mq-x-{tag}"
    good = message(a.device, [("air_temp_c", now_at(-1), 18.5), ("soil_moisture_pct", now_at(-1), 30.0)])
    client_id = f"test-ingest-{tag}"
    running = Running(client_id)
    try:
        publish(
            [
                good,
                good,  # published twice: the second is a duplicate
                (topic_for(a.device.device_id), b"{broken"),
                message(
                    a.device, [("air_temp_c", now_at(-1), 1.0)], secret="f" * 64, seq=2
                ),  # unauthenticated
                message(
                    b.device, [("air_temp_c", now_at(-1), 1.0)], plot=a.plot.pk
                ),  # B's device on A's plot
                (topic_for(stranger), good[1]),
            ]
        )
        wait_for(
            lambda: (
                refused(b.device.device_id) and refused(stranger) and len(refused(a.device.device_id)) == 3
            ),
            "the refusals",
        )
        # A reading of an hour already rolled up, arriving later (the soil probe had been offline).
        publish([message(late, [("soil_moisture_pct", now_at(-1), 34.0)])])
        wait_for(lambda: Reading.objects.filter(device=late).exists(), "the late reading")
    finally:
        running.stop()
        session_forget(client_id)

    assert Reading.objects.filter(device=a.device).count() == 2
    assert refused(a.device.device_id) == {"duplicate": 2, "malformed": 1, "bad_signature": 1}
    assert refused(b.device.device_id) == {"foreign_plot": 1}
    assert refused(stranger) == {"unknown_device": 1}
    assert not Reading.objects.filter(device=b.device).exists()
    soil = HourlyRollup.objects.get(plot=a.plot, metric=3)
    assert (soil.samples, soil.value_min, soil.value_max) == (2, 30.0, 34.0)


def test_readings_published_while_the_ingester_is_down_are_stored_when_it_comes_back():
    tag = uuid.uuid4().hex[:6]
    a = orchard("桃源果园", "东坡一号地", f"mq-p-{tag}")
    client_id = f"test-ingest-{tag}"
    Running(client_id).stop()  # the broker now holds a persistent session with the subscription
    try:
        publish([message(a.device, [("air_temp_c", now_at(-h), 10.0 + h)], seq=h) for h in range(1, 6)])
        time.sleep(0.3)
        assert not Reading.objects.exists()
        running = Running(client_id)
        try:
            wait_for(lambda: Reading.objects.filter(device=a.device).count() == 5, "the queued readings")
        finally:
            running.stop()
    finally:
        session_forget(client_id)
    assert running.ingester.total.readings_stored == 5

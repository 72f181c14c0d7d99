"""The MQTT side of ingestion (``manage.py orchard_ingest``): subscribe to the sensors' topics, gather
messages into batches (500, or what came in 200 ms), hand each batch to ``readings_ingest`` and only then
acknowledge its messages.

Delivery: QoS 1 on a persistent session (a fixed client id, MQTT 5's ``clean_start=False`` with a session
expiry of a week: MQTT 3.1.1's ``clean_session=False``), so the broker keeps what is published while the
ingester is down and delivers it when it comes back (Mosquitto keeps up to ``max_queued_messages`` per
client, 1,000 by default: raise it in production). MQTT 5 because its "receive maximum" lets the broker
send a whole batch before the first acknowledgement; over 3.1.1 Mosquitto sends 20 at a time
(``max_inflight_messages``), and batches acknowledged after their commit would crawl.

paho acknowledges a QoS 1 message on receipt by default; here ``manual_ack=True`` and each message is
acknowledged after its batch committed, so a process killed between receipt and the database write
loses nothing: the broker sends the unacknowledged messages again on the next connection, and the
database drops the readings already stored (counted as duplicates). At least once, made idempotent by
the readings' key.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from django.db import close_old_connections
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shops.orchard.ingest import SUBSCRIPTION, IngestOutcome, readings_ingest

logger = logging.getLogger(__name__)

QOS = 1
RETRY_SECONDS = 2.0
KEEPALIVE_SECONDS = 30
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600  # the broker keeps the session this long after a disconnect
RECEIVE_MAXIMUM_CAP = 65535


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    mid: int
    qos: int


# Other topics handled in the same process: subscription → (topic, payload) handler.
ExtraHandlers = dict[str, Callable[[str, bytes], object]]


@dataclass
class Ingester:
    host: str
    port: int
    client_id: str
    batch_size: int = 500
    wait_seconds: float = 0.2
    extra: ExtraHandlers = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    total: IngestOutcome = field(default_factory=IngestOutcome)
    connected: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            logger.error("MQTT connection refused: %s", reason)
            return
        client.subscribe([(SUBSCRIPTION, QOS), *((topic, QOS) for topic in self.extra)])
        self.connected.set()
        logger.info("connected to %s:%s as %s", self.host, self.port, self.client_id)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        self.connected.clear()
        if not self.stop.is_set():
            logger.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(Received(message.topic, message.payload, message.mid, message.qos))

    def _batch_next(self) -> list[Received]:
        try:
            first = self.inbox.get(timeout=0.25)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.wait_seconds
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[Received]) -> None:
        """Write the batch, retrying while the database is unreachable; then acknowledge it."""
        readings = [(m.topic, m.payload) for m in batch if m.topic.startswith("orchard/")]
        others = [m for m in batch if not m.topic.startswith("orchard/")]
        while True:
            close_old_connections()
            try:
                if readings:
                    self.total.add(readings_ingest(readings))
                break
            except Exception:
                logger.exception("storing a batch of %d messages failed; retrying", len(readings))
                if self.stop.wait(RETRY_SECONDS):
                    return  # stopping: not acknowledged, the broker delivers them again
        for message in others:
            handler = next(
                (h for prefix, h in self._extra_prefixes() if message.topic.startswith(prefix)), None
            )
            if handler is None:
                continue
            try:
                handler(message.topic, message.payload)
            except Exception:
                logger.exception("handling %s failed", message.topic)
        for message in batch:
            if message.qos:
                self.client.ack(message.mid, message.qos)

    def _extra_prefixes(self) -> list[tuple[str, Callable[[str, bytes], object]]]:
        return [(topic.split("+", 1)[0], handler) for topic, handler in self.extra.items()]

    def run(self, *, idle_exit_seconds: float | None = None) -> IngestOutcome:
        """Until ``stop`` is set (SIGTERM), or ``idle_exit_seconds`` pass without a message."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        # Unacknowledged messages the broker may send at once: two batches, one filling while one is stored.
        properties.ReceiveMaximum = min(RECEIVE_MAXIMUM_CAP, 2 * self.batch_size)
        self.client.connect(
            self.host, self.port, keepalive=KEEPALIVE_SECONDS, clean_start=False, properties=properties
        )
        self.client.loop_start()
        idle_since = time.monotonic()
        try:
            while not self.stop.is_set():
                batch = self._batch_next()
                if batch:
                    self._store(batch)
                    idle_since = time.monotonic()
                elif idle_exit_seconds is not None and time.monotonic() - idle_since > idle_exit_seconds:
                    break
            # What already arrived is stored and acknowledged before leaving.
            while not self.inbox.empty():
                batch = self._batch_next()
                if batch:
                    self._store(batch)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
        return self.total

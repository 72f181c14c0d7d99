"""``manage.py orchard_simulate``: a season of readings for every registered device (or those of some
plots), signed with the devices' secrets, published to the broker or written to a file for
``orchard_ingest --from-file``."""

import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shops.orchard.models import Device
from shops.orchard.simulate import season_line, season_messages

QOS = 1
PUBLISH_WINDOW = 200  # messages in flight before waiting for the broker's acknowledgements


class Command(BaseCommand):
    help = "Publish (or write to a file) a season of simulated sensor readings for the registered devices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=120)
        parser.add_argument("--interval", type=int, default=60, help="minutes between a device's messages")
        parser.add_argument("--plot", type=int, action="append", help="only this plot's devices (repeatable)")
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--broker", help="host:port (default ORCHARD_MQTT_BROKER)")
        target.add_argument("--to-file", type=Path, help="write JSON lines here instead of publishing")
        parser.add_argument(
            "--rate", type=int, default=2000, help="messages a second at most when publishing (default 2000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = Device.objects.select_related("plot").order_by("pk")
        if options["plot"]:
            chosen = chosen.filter(plot_id__in=options["plot"])
        devices = list(chosen)
        if not devices:
            raise CommandError("No devices registered (add one in the console, or run demo_load).")
        messages = season_messages(
            devices=devices, days=options["days"], interval_minutes=options["interval"]
        )
        count = 0
        if options["to_file"]:
            path = Path(options["to_file"])
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8") as out:
                for topic, payload in messages:
                    out.write(season_line(topic, payload) + "\n")
                    count += 1
            self.stdout.write(f"{count} messages of {len(devices)} devices written to {options['to_file']}")
            return
        host, _colon, port = (options["broker"] or settings.ORCHARD_MQTT_BROKER).rpartition(":")
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"orchard-simulator-{time.time_ns()}"
        )
        client.max_inflight_messages_set(PUBLISH_WINDOW)
        client.connect(host or "127.0.0.1", int(port))
        client.loop_start()
        started = time.monotonic()
        last = None
        try:
            for topic, payload in messages:
                last = client.publish(topic, payload, qos=QOS)
                count += 1
                # Mosquitto drops QoS 1 messages past a client's queue (1,000 by default): publish no faster
                # than the ingester stores them.
                ahead = count / options["rate"] - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            if last is not None:
                last.wait_for_publish(timeout=60)
        finally:
            client.disconnect()
            client.loop_stop()
        self.stdout.write(f"{count} messages of {len(devices)} devices published to {host}:{port}")

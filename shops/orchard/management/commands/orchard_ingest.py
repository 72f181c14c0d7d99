"""``manage.py orchard_ingest``: store orchard sensor readings from MQTT (``orchard/+/readings``) in
batches until SIGTERM, and hand the cold-chain loggers' messages (``coldchain/+/readings``) to
``logistics.coldchain.logger_payload_record`` in the same process; or, with ``--from-file``, store a
season file written by ``orchard_simulate --to-file`` (no broker needed: how ``make demo`` gets its
season on the embedded default)."""

import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from logistics.coldchain import logger_payload_record
from shops.orchard.ingest import IngestOutcome, readings_ingest
from shops.orchard.mqtt import Ingester
from shops.orchard.simulate import season_read

COLDCHAIN_SUBSCRIPTION = "coldchain/+/readings"


def coldchain_record(topic: str, payload: bytes) -> object:
    return logger_payload_record(topic=topic, payload=payload)


def outcome_text(outcome: IngestOutcome) -> str:
    refused = ", ".join(f"{reason} {count}" for reason, count in sorted(outcome.rejected.items())) or "none"
    return (
        f"{outcome.messages} messages: {outcome.readings_stored} readings stored, refused: {refused}; "
        f"{outcome.alerts_raised} alerts raised"
    )


class Command(BaseCommand):
    help = "Store orchard sensor readings from MQTT (until SIGTERM) or from a season file (--from-file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--broker", default=settings.ORCHARD_MQTT_BROKER, help="host:port")
        parser.add_argument("--client-id", default=settings.ORCHARD_MQTT_CLIENT_ID)
        parser.add_argument("--batch", type=int, default=500, help="messages per batch (default 500)")
        parser.add_argument("--wait-ms", type=int, default=200, help="longest a batch waits to fill")
        parser.add_argument(
            "--from-file", type=Path, help="a JSON-lines file of messages instead of the broker"
        )
        parser.add_argument("--idle-exit", type=float, help="stop after this many seconds without a message")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_file"]:
            total = IngestOutcome()
            with Path(options["from_file"]).open(encoding="utf-8") as lines:
                batch: list[tuple[str, bytes]] = []
                for message in season_read(lines):
                    batch.append(message)
                    if len(batch) >= options["batch"]:
                        total.add(readings_ingest(batch))
                        batch = []
                if batch:
                    total.add(readings_ingest(batch))
            self.stdout.write(f"Orchard readings from {options['from_file']}: {outcome_text(total)}")
            return
        host, _colon, port = options["broker"].rpartition(":")
        ingester = Ingester(
            host=host or "127.0.0.1",
            port=int(port),
            client_id=options["client_id"],
            batch_size=options["batch"],
            wait_seconds=options["wait_ms"] / 1000,
            extra={COLDCHAIN_SUBSCRIPTION: coldchain_record},
        )
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, lambda *_: ingester.stop.set())
        self.stdout.write(f"Orchard ingestion from {options['broker']} (Ctrl-C or SIGTERM stops it)")
        total = ingester.run(idle_exit_seconds=options["idle_exit"])
        self.stdout.write(f"Stopped: {outcome_text(total)}")

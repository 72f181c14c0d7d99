"""The outbox relay: publishes due outbox rows to Celery, for as long as it runs."""

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from marketplace.outbox.services import outbox_due_again_unfinished, outbox_relay_once
from marketplace.outbox.tasks import broker_reachable, outbox_publish


class Command(BaseCommand):
    help = "Publish the transactional outbox's due rows to Celery until stopped (SIGTERM / Ctrl-C)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
        parser.add_argument("--once", action="store_true", help="publish what is due now, then stop")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.stdout.write(f"outbox relay ready (poll every {interval}s)")
        self.stdout.flush()
        broker_was_down = False
        while not stopping:
            close_old_connections()
            try:
                run = outbox_relay_once(publish=outbox_publish)
                if run.broker_down:
                    broker_was_down = True
                elif broker_was_down and (run.published or broker_reachable()):
                    # Back: what was published just before the outage may have been lost with the broker.
                    again = outbox_due_again_unfinished()
                    self.stdout.write(f"the broker is back: {again} unfinished rows published again")
                    broker_was_down = False
                published = run.published
            except Exception as error:  # the database went away: say so and try again
                self.stderr.write(f"outbox relay: {type(error).__name__}: {error}")
                published = 0
            if published:
                self.stdout.write(f"published {published}")
                self.stdout.flush()
            if once:
                break
            if not published:
                try:
                    time.sleep(interval * 4 if broker_was_down else interval)
                except KeyboardInterrupt:
                    break

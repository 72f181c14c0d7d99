"""Workers delivering a subscriber's rows together at the same moment (real transactions on PostgreSQL):
each row runs once, in one worker's batch, whatever rows the tasks overlap on."""

import threading
import time

import pytest
from django.db import connection

from marketplace.outbox import services
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver_many, outbox_emit, outbox_relay_once, subscribe
from tests.postgres import postgresql_only

pytestmark = pytest.mark.django_db(transaction=True)
TOPIC = "test.raced"


@pytest.fixture(autouse=True)
def _postgres_only():
    postgresql_only()


@pytest.mark.parametrize("atomic", [True, False])
def test_overlapping_workers_run_each_row_once(settings, atomic):
    settings.OUTBOX_DELIVER_ON_COMMIT = False
    settings.OUTBOX_PUBLISH_BATCH = 3
    ran: list[str] = []
    lock = threading.Lock()

    def run_many(events):
        time.sleep(0.05)  # long enough for the other workers to come for the same rows
        with lock:
            ran.extend(key for key, _payload in events)

    subscribe(topic=TOPIC, name="test.raced", run=lambda key, payload: None, run_many=run_many, atomic=atomic)
    try:
        for n in range(30):
            outbox_emit(topic=TOPIC, key=f"order-{n}")
        tasks: list[list[int]] = []
        assert outbox_relay_once(publish=tasks.append).published == 30
        start = threading.Barrier(len(tasks))
        delivered = [0] * len(tasks)

        def worker(i: int) -> None:
            try:
                start.wait()
                delivered[i] = outbox_deliver_many(message_ids=tasks[i])
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(tasks))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        services._SUBSCRIBERS.pop(TOPIC)

    assert sorted(ran) == sorted(f"order-{n}" for n in range(30))  # each once
    assert sum(delivered) == 30
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()

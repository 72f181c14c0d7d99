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


def test_a_task_delivered_again_waits_for_the_rows_its_killed_worker_still_holds(settings):
    """A worker killed mid-batch leaves its database session holding the batch's rows until that session
    notices its client is gone. The task, delivered again, waits for them (its own row, and the waiting
    rows it had claimed although its own was delivered by another meanwhile), then delivers them: skipping
    them would ack the task and leave them claimed, undone, until the claim lapsed."""
    settings.OUTBOX_DELIVER_ON_COMMIT = False
    ran: list[str] = []
    subscribe(
        topic=TOPIC,
        name="test.raced",
        run=lambda key, payload: None,
        run_many=lambda events: ran.extend(key for key, _payload in events),
    )
    try:
        for n in range(3):
            outbox_emit(topic=TOPIC, key=f"order-{n}")
        own, *waiting = OutboxMessage.objects.order_by("pk").values_list("pk", flat=True)
        # The killed task had claimed all three; its own row was then delivered by another task.
        OutboxMessage.objects.filter(pk__in=[own, *waiting]).update(
            claimed_by="task-1", claimed_until=services.timezone.now() + services.timedelta(seconds=120)
        )
        OutboxMessage.objects.filter(pk=own).update(done_at=services.timezone.now())
        held, released = threading.Event(), threading.Event()

        def dead_session() -> None:  # the killed worker's session: its batch's rows locked
            try:
                with services.transaction.atomic():
                    list(OutboxMessage.objects.select_for_update().filter(pk__in=waiting))
                    held.set()
                    released.wait(timeout=30)
            finally:
                connection.close()

        delivered: list[int] = []

        def again() -> None:
            try:
                delivered.append(outbox_deliver_many(message_ids=[own], claim="task-1"))
            finally:
                connection.close()

        holder = threading.Thread(target=dead_session)
        holder.start()
        assert held.wait(timeout=10)
        task = threading.Thread(target=again)
        task.start()
        time.sleep(0.5)
        assert task.is_alive()  # waiting for the rows, not gone with nothing done
        released.set()
        holder.join(timeout=30)
        task.join(timeout=30)
    finally:
        services._SUBSCRIBERS.pop(TOPIC)

    assert delivered == [2]
    assert sorted(ran) == ["order-1", "order-2"]
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()

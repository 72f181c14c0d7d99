"""The transactional outbox: a follow-up commits or rolls back with its change, runs once however often it
is delivered, waits while the broker is down, and backs off when it fails."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from marketplace.outbox import services
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import (
    outbox_deliver,
    outbox_deliver_many,
    outbox_due_again_unfinished,
    outbox_emit,
    outbox_relay_once,
    outbox_replay,
    subscribe,
)

pytestmark = pytest.mark.django_db
TOPIC = "test.happened"


@pytest.fixture
def runs(settings):
    """A subscriber of TEST_TOPIC that records what it ran (and fails while ``runs.failing``)."""
    settings.OUTBOX_DELIVER_ON_COMMIT = False  # as in production: the relay delivers

    class Runs(list):
        failing = False
        refused: frozenset[str] = frozenset()  # keys that fail

    seen = Runs()

    def run(key, payload):
        if seen.failing or key in seen.refused:
            raise ConnectionError("the mail server is down")
        seen.append((key, payload))

    subscribe(topic=TOPIC, name="test.record", run=run)
    yield seen
    services._SUBSCRIBERS.pop(TOPIC)


def test_an_event_emitted_twice_is_one_row_per_subscriber(runs):
    outbox_emit(topic=TOPIC, key="order-1", payload={"n": 1})
    outbox_emit(topic=TOPIC, key="order-1", payload={"n": 1})

    assert list(OutboxMessage.objects.values_list("handler", "key")) == [("test.record", "order-1")]


def test_a_rolled_back_change_leaves_no_follow_up(runs):
    class Boom(Exception):
        pass

    def change_that_fails() -> None:
        with transaction.atomic():
            outbox_emit(topic=TOPIC, key="order-2")
            raise Boom

    with pytest.raises(Boom):
        change_that_fails()

    assert not OutboxMessage.objects.exists()


def test_delivered_twice_it_runs_once(runs):
    outbox_emit(topic=TOPIC, key="order-3", payload={"n": 3})
    message = OutboxMessage.objects.get()

    assert outbox_deliver(message_id=message.pk) is True
    assert outbox_deliver(message_id=message.pk) is False  # a redelivered Celery message

    assert runs == [("order-3", {"n": 3})]
    assert OutboxMessage.objects.get().done_at is not None


def test_with_the_broker_down_rows_wait_and_are_published_when_it_is_back(runs):
    for n in range(3):
        outbox_emit(topic=TOPIC, key=f"order-{n}")

    def broker_down(message_ids):
        raise ConnectionRefusedError("broker down")

    down = outbox_relay_once(publish=broker_down)
    assert (down.published, down.broker_down) == (0, True)
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 3

    published: list[int] = []
    assert outbox_relay_once(publish=published.extend).published == 3
    assert sorted(published) == sorted(OutboxMessage.objects.values_list("pk", flat=True))
    # Published but not done: not published again until it is due (the broker may have lost it).
    assert outbox_relay_once(publish=published.extend).published == 0
    OutboxMessage.objects.update(available_at=timezone.now() - datetime.timedelta(seconds=1))
    assert outbox_relay_once(publish=published.extend).published == 3
    # The broker goes down and comes back having lost what it held: due again at once, not in 2 minutes.
    assert outbox_due_again_unfinished() == 3
    assert outbox_relay_once(publish=published.extend).published == 3


def test_rows_are_published_in_batches_and_a_failing_row_does_not_hold_up_the_rest_of_its_batch(
    runs, settings
):
    settings.OUTBOX_PUBLISH_BATCH = 2
    for n in range(5):
        outbox_emit(topic=TOPIC, key=f"order-{n}")
    batches: list[list[int]] = []
    assert outbox_relay_once(publish=batches.append).published == 5
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert sorted(sum(batches, [])) == sorted(OutboxMessage.objects.values_list("pk", flat=True))

    first, second = batches[0]
    runs.refused = frozenset({OutboxMessage.objects.get(pk=first).key})
    assert outbox_deliver_many(message_ids=batches[0]) == 1  # the second row ran after the first failed
    refused, done = OutboxMessage.objects.get(pk=first), OutboxMessage.objects.get(pk=second)
    assert (refused.done_at, refused.failures, done.done_at is not None) == (None, 1, True)
    assert runs == [(done.key, {})]
    assert outbox_deliver_many(message_ids=batches[0]) == 0  # delivered again (a requeued task): nothing runs


def test_a_failing_subscriber_backs_off_then_gives_up_until_replayed(runs, settings):
    settings.OUTBOX_MAX_FAILURES = 2
    outbox_emit(topic=TOPIC, key="order-4")
    message = OutboxMessage.objects.get()
    runs.failing = True

    with pytest.raises(ConnectionError):
        outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.failures, message.done_at) == (1, None)
    assert "mail server is down" in message.last_error
    assert message.available_at > timezone.now()  # backing off
    assert outbox_relay_once(publish=lambda message_ids: None).published == 0

    OutboxMessage.objects.update(available_at=timezone.now())
    with pytest.raises(ConnectionError):
        outbox_deliver(message_id=message.pk)
    OutboxMessage.objects.update(available_at=timezone.now())
    assert (
        outbox_relay_once(publish=lambda message_ids: None).published == 0
    )  # given up: it waits for a person

    runs.failing = False
    assert outbox_replay(message_ids=[message.pk]) == 1
    published: list[int] = []
    assert outbox_relay_once(publish=published.extend).published == 1
    assert outbox_deliver(message_id=published[0]) is True
    assert runs == [("order-4", {})]


def test_the_embedded_default_delivers_right_after_commit(settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_DELIVER_ON_COMMIT = True
    seen = []
    subscribe(topic=TOPIC, name="test.record", run=lambda key, payload: seen.append(key))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            outbox_emit(topic=TOPIC, key="order-5")
            assert seen == []  # not before the commit
    finally:
        services._SUBSCRIBERS.pop(TOPIC)

    assert seen == ["order-5"]
    assert OutboxMessage.objects.get().done_at is not None


@pytest.fixture
def together(settings):
    """A subscriber of TOPIC that handles many events at once: ``together.batches`` records each call of
    ``run_many`` (keys), ``together.singles`` each of ``run``; keys in ``refused`` fail either way."""
    settings.OUTBOX_DELIVER_ON_COMMIT = False

    class Seen:
        batches: list[list[str]] = []
        singles: list[str] = []
        refused: frozenset[str] = frozenset()

    seen = Seen()
    seen.batches, seen.singles = [], []

    def run(key, payload):
        if key in seen.refused:
            raise ConnectionError(f"{key} refused")
        seen.singles.append(key)

    def run_many(events):
        if any(key in seen.refused for key, _payload in events):
            raise ConnectionError("one of them refused")
        seen.batches.append([key for key, _payload in events])

    subscribe(topic=TOPIC, name="test.together", run=run, run_many=run_many)
    yield seen
    services._SUBSCRIBERS.pop(TOPIC)


def test_a_subscriber_that_runs_many_gets_its_rows_still_waiting_with_a_tasks_own(together, settings):
    settings.OUTBOX_PUBLISH_BATCH = 2
    for n in range(5):
        outbox_emit(topic=TOPIC, key=f"order-{n}")
    tasks: list[list[int]] = []
    assert outbox_relay_once(publish=tasks.append).published == 5
    assert [len(task) for task in tasks] == [2, 2, 1]

    assert outbox_deliver_many(message_ids=tasks[1]) == 5  # its own two and the three still waiting
    assert together.batches == [[f"order-{n}" for n in range(5)]]  # in the order they were written
    assert together.singles == []
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()
    # The other tasks find their rows done: nothing runs again.
    assert outbox_deliver_many(message_ids=tasks[0]) == 0
    assert outbox_deliver_many(message_ids=tasks[2]) == 0
    assert len(together.batches) == 1


def test_rows_another_worker_claimed_are_left_to_it_until_its_claim_lapses(together, settings):
    settings.OUTBOX_DELIVER_TOGETHER = 0  # a worker's batch: its own rows only
    for n in range(3):
        outbox_emit(topic=TOPIC, key=f"order-{n}")
    first, second, third = OutboxMessage.objects.order_by("pk").values_list("pk", flat=True)
    # Another worker takes the first two.
    assert services._claim(handler="test.together", message_ids=[first, second], claim="elsewhere") == [
        first,
        second,
    ]
    claimed = OutboxMessage.objects.get(pk=first)
    assert claimed.claimed_until > timezone.now()
    assert claimed.available_at == claimed.claimed_until  # the relay does not publish it meanwhile
    assert outbox_relay_once(publish=lambda message_ids: None).published == 1  # the third only

    assert outbox_deliver_many(message_ids=[second, third]) == 1  # the second is the other worker's
    assert together.batches == [["order-2"]]
    # That worker died: once its claim lapses the rows are due again and the next delivery runs them.
    OutboxMessage.objects.filter(pk__in=[first, second]).update(
        claimed_until=timezone.now() - datetime.timedelta(seconds=1),
        available_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    published: list[int] = []
    assert outbox_relay_once(publish=published.extend).published == 2
    assert outbox_deliver_many(message_ids=published) == 2
    assert together.batches == [["order-2"], ["order-0", "order-1"]]


def test_a_batch_that_fails_is_delivered_row_by_row_and_only_the_failing_row_backs_off(together):
    for n in range(3):
        outbox_emit(topic=TOPIC, key=f"order-{n}")
    outbox_emit(topic=TOPIC, key="earlier-failure")
    backing_off = OutboxMessage.objects.get(key="earlier-failure")
    OutboxMessage.objects.filter(pk=backing_off.pk).update(
        failures=1, available_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    together.refused = frozenset({"order-1"})
    rows = list(OutboxMessage.objects.exclude(pk=backing_off.pk).order_by("pk").values_list("pk", flat=True))

    assert outbox_deliver_many(message_ids=rows[:1]) == 2  # the batch failed; alone, two of three ran
    assert together.batches == []
    assert together.singles == ["order-0", "order-2"]  # a row backing off is not taken as waiting
    failed = OutboxMessage.objects.get(key="order-1")
    assert (failed.done_at, failed.failures, failed.claimed_until) == (None, 1, None)
    assert failed.available_at > timezone.now()
    assert "order-1 refused" in failed.last_error
    assert OutboxMessage.objects.get(pk=backing_off.pk).done_at is None


def test_a_task_delivered_again_after_its_worker_died_takes_back_what_it_had_claimed(together):
    for n in range(3):
        outbox_emit(topic=TOPIC, key=f"order-{n}")
    first, second, _third = OutboxMessage.objects.order_by("pk").values_list("pk", flat=True)
    # The task for the first row claims all three, and its worker is killed before it runs them.
    assert len(services._claim(handler="test.together", message_ids=[first], claim="task-1")) == 3

    # Another task finds its row claimed and leaves it: the claim has not lapsed.
    assert outbox_deliver_many(message_ids=[second], claim="task-2") == 0
    # The broker hands the killed task out again (acked late): it takes its claim back at once.
    assert outbox_deliver_many(message_ids=[first], claim="task-1") == 3
    assert together.batches == [["order-0", "order-1", "order-2"]]
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()

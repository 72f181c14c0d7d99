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

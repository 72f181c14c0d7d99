"""The transactional outbox: one durable hand-off for every follow-up of a state change.

A service that changes state calls ``outbox_emit(topic=..., key=...)`` inside its transaction: one row per
subscriber of the topic is written with the change, so the follow-ups commit or roll back with it. The
relay (``manage.py outbox_relay``, or the ``outbox.relay`` beat task as a safety net) publishes due rows
to Celery; the worker runs the subscriber and marks the row done in the same transaction as the
subscriber's writes. With the broker down nothing fails: rows wait and the relay catches up when it
returns. On the embedded default (eager Celery, no broker) the rows are delivered in-process right
after the commit.

Subscribers register in their app's ``ready()`` with ``subscribe``; emitters import no subscriber, so the
paid-order flow can have routing, notices and sales facts behind it without importing any of them.
"""

import logging
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from marketplace.locks import for_update
from marketplace.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

# What a subscriber returns is not used (a service called from a lambda may return its result).
Handler = Callable[[str, dict[str, Any]], object]
# Many events of the topic at once: their (key, payload)s, in the order they were written.
ManyHandler = Callable[[list[tuple[str, dict[str, Any]]]], object]

# The current transaction's key and the on-commit callback that forgets it, kept on the connection (one per
# thread) under this attribute.
_TRANSACTION_MARKER = "_outbox_transaction"
TransactionMarker = tuple[str, Callable[[], None]]


def _transaction_marker() -> TransactionMarker | None:
    marker: TransactionMarker | None = getattr(connection, _TRANSACTION_MARKER, None)
    return marker


def _transaction_marker_set(marker: TransactionMarker | None) -> None:
    setattr(connection, _TRANSACTION_MARKER, marker)


@dataclass(frozen=True)
class Subscriber:
    """What runs for each event of a topic. ``atomic``: the subscriber's writes and the row's "done" commit
    together (the default); a subscriber that talks to the network (Stripe) runs outside a transaction
    instead, and must be idempotent on its own. ``run_many``: the same for several events at once, with the
    same effects as ``run`` for each (``outbox_deliver_many`` uses it when a worker has several rows of the
    subscriber to deliver: one batch of queries, not one per event)."""

    topic: str
    name: str
    run: Handler
    atomic: bool = True
    run_many: ManyHandler | None = None


_SUBSCRIBERS: dict[str, dict[str, Subscriber]] = {}


def subscribe(
    *, topic: str, name: str, run: Handler, atomic: bool = True, run_many: ManyHandler | None = None
) -> None:
    """Have ``run(key, payload)`` called once for every event of ``topic`` (or ``run_many`` for several of
    them together). Called from an app's ready()."""
    _SUBSCRIBERS.setdefault(topic, {})[name] = Subscriber(
        topic=topic, name=name, run=run, atomic=atomic, run_many=run_many
    )


def subscribers(topic: str) -> list[Subscriber]:
    return list(_SUBSCRIBERS.get(topic, {}).values())


def subscriber_named(name: str) -> Subscriber | None:
    for by_name in _SUBSCRIBERS.values():
        if name in by_name:
            return by_name[name]
    return None


def transaction_key() -> str:
    """A key shared by every emit of the current transaction, for follow-ups needed once per commit
    however many changes asked for them (a storefront cache bump after 300 products were saved). A new
    key once the transaction committed or rolled back (its on-commit callback is then gone)."""
    if not connection.in_atomic_block:
        return uuid.uuid4().hex
    current = _transaction_marker()
    if current is not None and any(entry[1] is current[1] for entry in connection.run_on_commit):
        return current[0]
    key = uuid.uuid4().hex

    def forget() -> None:
        _transaction_marker_set(None)

    _transaction_marker_set((key, forget))
    transaction.on_commit(forget)
    return key


def outbox_emit(*, topic: str, key: str, payload: dict[str, Any] | None = None) -> int:
    """Record that ``topic`` happened (``key`` names the event: the same key twice is one event) for every
    subscriber of the topic, in the caller's transaction. Returns how many subscribers there are."""
    targets = subscribers(topic)
    if not targets:
        return 0
    now = timezone.now()
    rows = [
        OutboxMessage(
            topic=topic, handler=s.name, key=key, payload=payload or {}, created_at=now, available_at=now
        )
        for s in targets
    ]
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    if settings.OUTBOX_DELIVER_ON_COMMIT:
        handlers = [s.name for s in targets]
        transaction.on_commit(lambda: _deliver_now(handlers=handlers, key=key), robust=True)
    return len(targets)


def outbox_keys_emitted(*, topic: str, keys: Collection[str]) -> set[str]:
    """Which of ``keys`` name an event of ``topic`` written (done or not, until the done rows are
    forgotten): one query."""
    if not keys:
        return set()
    emitted = OutboxMessage.objects.filter(topic=topic, key__in=sorted(keys)).values_list("key", flat=True)
    return set(emitted.distinct())


def _deliver_now(*, handlers: list[str], key: str) -> None:
    """The embedded default: no broker, so the rows just committed are delivered in this process. A failure
    is logged and the row stays for ``outbox_relay_once`` (or the next run of the same event)."""
    current = _transaction_marker()
    if current is not None and current[0] == key:
        _transaction_marker_set(None)  # the key is spent: a later change needs a row of its own
    pending = OutboxMessage.objects.filter(handler__in=handlers, key=key, done_at__isnull=True)
    for message_id in pending.values_list("pk", flat=True):
        try:
            outbox_deliver(message_id=message_id)
        except Exception:
            logger.exception("outbox message %s failed; it stays for the relay", message_id)


def _backoff(failures: int) -> timedelta:
    return timedelta(seconds=min(settings.OUTBOX_RETRY_SECONDS * 2 ** max(failures - 1, 0), 3600))


def outbox_deliver(*, message_id: int) -> bool:
    """Run one row's subscriber unless the row is done; returns whether it ran. Idempotent: delivering a
    row twice (a redelivered Celery message, two relays) runs the subscriber once."""
    message = OutboxMessage.objects.filter(pk=message_id).only("handler", "done_at").first()
    if message is None or message.done_at is not None:
        return False
    return _deliver(message_id=message_id, handler=message.handler)


def _deliver(*, message_id: int, handler: str) -> bool:
    """Run the row's subscriber ``handler`` (read with the row, which was not done then)."""
    subscriber = subscriber_named(handler)
    if subscriber is None:
        raise LookupError(f"outbox message {message_id}: no subscriber {handler!r}")
    try:
        if subscriber.atomic:
            with transaction.atomic():
                # The row's lock keeps a second delivery of the same row waiting until this one commits.
                locked = for_update(OutboxMessage.objects.all()).filter(pk=message_id).first()
                if locked is None or locked.done_at is not None:
                    return False
                subscriber.run(locked.key, locked.payload)
                OutboxMessage.objects.filter(pk=message_id).update(done_at=timezone.now(), last_error="")
        else:
            locked = OutboxMessage.objects.get(pk=message_id)
            subscriber.run(locked.key, locked.payload)
            updated = OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
                done_at=timezone.now(), last_error=""
            )
            if not updated:
                return False
    except Exception as error:
        failed = OutboxMessage.objects.filter(pk=message_id)
        failed.update(
            failures=F("failures") + 1,
            last_error=f"{type(error).__name__}: {error}"[:2000],
            claimed_until=None,
        )
        failures = failed.values_list("failures", flat=True).first() or 1
        failed.update(available_at=timezone.now() + _backoff(failures))
        raise
    return True


def outbox_due(*, limit: int) -> list[int]:
    """Rows to publish now: not done, due, and not given up on."""
    return list(
        OutboxMessage.objects.filter(
            done_at__isnull=True,
            available_at__lte=timezone.now(),
            failures__lt=settings.OUTBOX_MAX_FAILURES,
        )
        .order_by("available_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


@dataclass(frozen=True)
class RelayRun:
    published: int
    broker_down: bool  # a publish failed: the rest wait for the next run


def outbox_relay_once(*, publish: Callable[[list[int]], None], limit: int = 500) -> RelayRun:
    """Publish the due rows with ``publish(message_ids)`` (Celery's send of one task for up to
    ``OUTBOX_PUBLISH_BATCH`` rows, or a direct delivery). The rows are marked published, and due again
    after ``OUTBOX_REDELIVER_SECONDS`` in case the message is lost; the worker marks each done. Stops at the
    first publish that fails (the broker is down): the rest wait for the next run. No row lock is held
    while publishing."""
    published = 0
    redeliver = timedelta(seconds=settings.OUTBOX_REDELIVER_SECONDS)
    due = outbox_due(limit=limit)
    size = max(1, settings.OUTBOX_PUBLISH_BATCH)
    for start in range(0, len(due), size):
        message_ids = due[start : start + size]
        try:
            publish(message_ids)
        except Exception:
            logger.warning("outbox relay: the broker did not take a message; the rows wait", exc_info=True)
            return RelayRun(published=published, broker_down=True)
        now = timezone.now()
        OutboxMessage.objects.filter(pk__in=message_ids, done_at__isnull=True).update(
            published_at=now, publish_count=F("publish_count") + 1, available_at=now + redeliver
        )
        published += len(message_ids)
    return RelayRun(published=published, broker_down=False)


def outbox_deliver_many(*, message_ids: Iterable[int], claim: str = "") -> int:
    """Deliver rows one after another (one Celery task for several rows: a task's own cost is paid once);
    returns how many ran. A row that fails has its failure recorded by ``outbox_deliver`` and waits for its
    back-off; the rows after it are still delivered. The rows of a subscriber with ``run_many`` are
    delivered together, with the rows of it still waiting elsewhere (``_deliver_together``), claimed as
    ``claim`` (the Celery task's id: redelivered, the task takes back what it had claimed)."""
    message_ids = list(message_ids)
    claim = claim or uuid.uuid4().hex
    # The rows not done yet and their subscribers, read together (each is locked and checked again as
    # it is delivered), with the rows the task had claimed: delivered again after its worker was killed,
    # it takes them back, even when its own were done meanwhile by another task.
    rows = OutboxMessage.objects.filter(Q(pk__in=message_ids) | Q(claimed_by=claim), done_at__isnull=True)
    handlers = dict(rows.values_list("pk", "handler"))
    own_ids = set(message_ids)
    ran = 0
    together: dict[str, tuple[Subscriber, list[int]]] = {}
    for handler in {handler for pk, handler in handlers.items() if pk not in own_ids}:
        subscriber = subscriber_named(handler)
        if subscriber is not None and subscriber.run_many is not None:
            together.setdefault(subscriber.name, (subscriber, []))
    for message_id in message_ids:
        if message_id not in handlers:
            continue
        subscriber = subscriber_named(handlers[message_id])
        if subscriber is not None and subscriber.run_many is not None:
            together.setdefault(subscriber.name, (subscriber, []))[1].append(message_id)
            continue
        try:
            ran += _deliver(message_id=message_id, handler=handlers[message_id])
        except Exception:
            logger.exception("outbox message %s failed; it is tried again after its back-off", message_id)
    for subscriber, own in together.values():
        ran += _deliver_together(subscriber=subscriber, message_ids=own, claim=claim)
    return ran


def _deliver_together(*, subscriber: Subscriber, message_ids: list[int], claim: str) -> int:
    """Claim ``message_ids`` (rows of ``subscriber``, which has ``run_many``) and up to
    ``OUTBOX_DELIVER_TOGETHER`` more of its rows waiting (not done, never failed: their own tasks are
    still queued, or the relay has not published them yet), then run them in one ``run_many``. Under load
    the rows of several checkouts go together; when quiet, a batch is the task's own rows. A claimed row is
    left alone by other workers until ``OUTBOX_REDELIVER_SECONDS`` have passed (as a published one is by
    the relay), except by the same ``claim`` (the task delivered again after its worker died); rows another
    worker claimed or is delivering are skipped (it runs them). If the batch fails, each of its rows is
    delivered alone, so only the failing ones record a failure."""
    run_many, handler = subscriber.run_many, subscriber.name
    if run_many is None:
        raise ValueError(f"outbox: {handler!r} does not run many events at once")
    claimed = _claim(handler=handler, message_ids=message_ids, claim=claim)
    if not claimed:
        return 0
    try:
        if subscriber.atomic:
            with transaction.atomic():
                rows = list(
                    for_update(
                        OutboxMessage.objects.filter(pk__in=claimed, done_at__isnull=True)
                    ).values_list("pk", "key", "payload")
                )
                run_many([(key, payload) for _pk, key, payload in rows])
                OutboxMessage.objects.filter(pk__in=[row[0] for row in rows]).update(
                    done_at=timezone.now(), last_error=""
                )
            return len(rows)
        rows = list(
            OutboxMessage.objects.filter(pk__in=claimed, done_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "key", "payload")
        )
        run_many([(key, payload) for _pk, key, payload in rows])
        return OutboxMessage.objects.filter(pk__in=[row[0] for row in rows], done_at__isnull=True).update(
            done_at=timezone.now(), last_error=""
        )
    except Exception:
        logger.exception(
            "outbox: %s failed for %s rows together; they are delivered one by one", handler, len(claimed)
        )
    ran = 0
    for message_id in claimed:
        try:
            ran += outbox_deliver(message_id=message_id)
        except Exception:
            logger.exception("outbox message %s failed; it is tried again after its back-off", message_id)
    return ran


def _claim(*, handler: str, message_ids: list[int], claim: str) -> list[int]:
    """Take ``message_ids`` and up to ``OUTBOX_DELIVER_TOGETHER`` more waiting rows of ``handler`` (and
    those ``claim`` took before) for this worker; rows claimed by another are left to it, and waiting rows
    another is delivering are skipped. Commits at once. Returns the rows taken."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.OUTBOX_REDELIVER_SECONDS)
    claimable = OutboxMessage.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=claim), done_at__isnull=True
    )
    with transaction.atomic():
        # The task's own rows, and those it claimed before (delivered again after its worker was killed),
        # are waited for, not skipped, when locked: by a worker delivering them (then found done), or by
        # the session of the killed worker, which lets them go once it notices its client is gone.
        own = Q(pk__in=message_ids) | Q(handler=handler, claimed_by=claim) if claim else Q(pk__in=message_ids)
        mine = list(for_update(claimable.filter(own)).values_list("pk", flat=True))
        waiting = for_update(
            claimable.filter(handler=handler, failures=0).exclude(pk__in=[*message_ids, *mine]),
            skip_locked=True,
        )
        more = list(waiting.values_list("pk", flat=True)[: max(0, settings.OUTBOX_DELIVER_TOGETHER)])
        taken = sorted(mine + more)
        if taken:
            # Due again only after the claim (as a published row): the relay leaves them alone meanwhile.
            OutboxMessage.objects.filter(pk__in=taken).update(
                claimed_until=until, claimed_by=claim, available_at=until
            )
    return taken


def outbox_due_again_unfinished() -> int:
    """After the broker was down: rows published but not done may have been lost with it (a broker that
    keeps nothing across a restart), so they are due again now rather than after the redelivery delay.
    Running one twice does nothing more (idempotent consumers)."""
    return OutboxMessage.objects.filter(done_at__isnull=True, published_at__isnull=False).update(
        available_at=timezone.now()
    )


def outbox_replay(*, message_ids: Iterable[int]) -> int:
    """Make rows due again now (from the admin): given-up rows get their failures forgotten."""
    return OutboxMessage.objects.filter(pk__in=list(message_ids), done_at__isnull=True).update(
        available_at=timezone.now(), failures=0
    )


def outbox_forget_done(*, older_than: timedelta) -> int:
    """Delete rows done long ago (their effects are recorded where they belong)."""
    deleted, _ = OutboxMessage.objects.filter(done_at__lt=timezone.now() - older_than).delete()
    return deleted

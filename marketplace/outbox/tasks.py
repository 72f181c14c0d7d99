"""Celery side of the outbox: the one task that runs a subscriber, and the relay as a beat safety net."""

from datetime import timedelta

from celery import Task, current_app, shared_task
from django.conf import settings

from marketplace.outbox.services import (
    outbox_deliver,
    outbox_deliver_many,
    outbox_forget_done,
    outbox_relay_once,
)


@shared_task(name="outbox.deliver_many", acks_late=True, reject_on_worker_lost=True, bind=True)
def outbox_deliver_many_task(self: Task, message_ids: list[int]) -> int:
    """Run several outbox rows' subscribers, one after another. A failure is recorded on its row, which the
    relay publishes again after a back-off; a worker killed mid-run puts the message back on the queue
    (acked late), and the rows it had done are not run again; those it had claimed are claimed by the
    task's id, so the message delivered again takes them back at once."""
    return outbox_deliver_many(message_ids=message_ids, claim=self.request.id or "")


@shared_task(name="outbox.deliver", acks_late=True, reject_on_worker_lost=True)
def outbox_deliver_task(message_id: int) -> bool:
    """One row: what the relay published before rows went in batches (still queued during an upgrade)."""
    return outbox_deliver(message_id=message_id)


def outbox_publish(message_ids: list[int]) -> None:
    """Hand rows to the broker as one task, failing fast (no retry loop) when it is down: they wait."""
    outbox_deliver_many_task.apply_async(
        args=[message_ids], retry=False, queue=settings.CELERY_TASK_DEFAULT_QUEUE
    )


def broker_reachable() -> bool:
    """Whether the broker answers now (one try, a short timeout)."""
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001 - any failure means "not now"
        return False
    return True


@shared_task(name="outbox.relay", acks_late=True, reject_on_worker_lost=True)
def outbox_relay_task() -> int:
    """The relay's safety net on beat, for a deployment that runs no ``outbox_relay`` process."""
    return outbox_relay_once(publish=outbox_publish).published


@shared_task(name="outbox.forget_done", acks_late=True, reject_on_worker_lost=True)
def outbox_forget_done_task() -> int:
    return outbox_forget_done(older_than=timedelta(days=settings.OUTBOX_KEEP_DONE_DAYS))

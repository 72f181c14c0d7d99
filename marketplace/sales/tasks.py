"""Celery tasks of the sales review: thin, idempotent, enqueued on commit."""

import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from marketplace.sales.facts import sales_facts_refresh


@shared_task(name="sales.facts_refresh", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def facts_refresh(shop_id: int, day: str) -> int:
    """Recompute one shop's facts for one day (an ISO date): a sale was paid or a refund succeeded."""
    return sales_facts_refresh(day=datetime.date.fromisoformat(day), shop_ids=[shop_id])


@shared_task(name="sales.facts_refresh_recent", autoretry_for=(OperationalError,), retry_backoff=True)
def facts_refresh_recent() -> int:
    """The nightly safety net: yesterday's and today's facts of every shop, recomputed in case an event's
    task was lost (and for refunds that succeeded later at Stripe)."""
    today = timezone.localdate()
    return sum(sales_facts_refresh(day=day) for day in (today - datetime.timedelta(days=1), today))


def facts_refresh_enqueue(*, shop_id: int, at: datetime.datetime) -> None:
    """Refresh the facts of ``shop_id`` for the local day of ``at`` once the current transaction commits."""
    facts_refresh.delay_on_commit(shop_id, timezone.localdate(at).isoformat())

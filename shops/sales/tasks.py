"""Celery tasks of the sales review: thin and idempotent (sales and refunds reach it through the outbox)."""

import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from shops.sales.facts import sales_facts_refresh


@shared_task(name="sales.facts_refresh", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def facts_refresh(shop_ids: list[int], day: str) -> int:
    """Recompute some shops' facts for one day (an ISO date): sales were paid or a refund succeeded."""
    return sales_facts_refresh(day=datetime.date.fromisoformat(day), shop_ids=shop_ids)


@shared_task(name="sales.facts_refresh_recent", autoretry_for=(OperationalError,), retry_backoff=True)
def facts_refresh_recent() -> int:
    """The nightly safety net: yesterday's and today's facts of every shop, recomputed in case an event's
    task was lost."""
    today = timezone.localdate()
    return sum(sales_facts_refresh(day=day) for day in (today - datetime.timedelta(days=1), today))

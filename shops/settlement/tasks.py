"""Celery tasks of the settlement: thin, idempotent."""

import datetime

from celery import shared_task
from django.utils import timezone

from marketplace.local_dates import month_before
from shops.settlement.services import statements_generate


@shared_task(name="settlement.statements_generate")
def statements_generate_task(month: str = "") -> int:
    """Generate the statements of ``month`` (YYYY-MM-DD, any day of it); by default last month's (run by
    Celery beat on the 2nd). Rebuilds drafts, leaves issued and paid statements alone."""
    day = datetime.date.fromisoformat(month) if month else month_before(timezone.localdate())
    return len(statements_generate(month=day))

"""Celery tasks of the orchard: the nightly retention of raw readings (thin, idempotent)."""

from celery import shared_task
from django.db import OperationalError

from shops.orchard.services import readings_forget


@shared_task(
    name="orchard.readings_forget", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3
)
def readings_forget_task() -> int:
    """Raw readings older than ORCHARD_READINGS_KEEP_DAYS; roll-ups stay."""
    return readings_forget()

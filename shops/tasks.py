"""Celery tasks of the shops app (thin, idempotent)."""

from celery import shared_task
from django.db import OperationalError

from shops.services import form_submissions_forget


@shared_task(
    name="shops.form_submissions_forget", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3
)
def form_submissions_forget_task() -> int:
    """The console's form tokens older than 30 days (shops/console/once.py)."""
    return form_submissions_forget()

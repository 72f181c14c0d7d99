"""Celery tasks of the association's workspace: thin, idempotent, enqueued after commit. Each part of the
workspace adds its tasks here (the worker discovers only this module)."""

from celery import shared_task

from marketplace.association import admission_notices


@shared_task(name="association.application_notice", autoretry_for=(ConnectionError, OSError), max_retries=5)
def application_notice_task(event_id: int) -> None:
    """Email the applicant about one move of their shop application (sent once per move)."""
    admission_notices.application_notice_send(event_id=event_id)

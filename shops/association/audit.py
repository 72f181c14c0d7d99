"""The one write path of the audit log: every decision of the association's staff goes through
``audit_record`` inside the same transaction as the change it records."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.db.models import QuerySet

from shops.association.models import AuditEntry


def acting_user(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    """The signed-in user who acted, or None (a task, a script, an anonymous request)."""
    return actor if actor is not None and actor.is_authenticated else None


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    subject: models.Model,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that ``actor`` took ``action`` on ``subject`` (any saved model instance), and why."""
    return AuditEntry.objects.create(  # type: ignore[misc]  # auth.User is the user model; services take AbstractBaseUser (django-stubs' request.user)
        actor=acting_user(actor),
        action=action,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        subject_label=str(subject)[:255],
        reason=reason,
        details=details or {},
    )


def audit_trail(subject: models.Model) -> QuerySet[AuditEntry]:
    """The decisions taken on ``subject``, newest first."""
    return AuditEntry.objects.filter(
        subject_type=subject._meta.label_lower, subject_id=str(subject.pk)
    ).select_related("actor")

"""The association's own records: the audit log of every decision its staff take. Each part of the
workspace (admission, listing review, settlement…) writes to it through ``association.audit``."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The group whose members use the workspace at /association/ (it holds the ``use_workspace`` permission).
ASSOCIATION_GROUP = "Shop association"


class AuditEntry(models.Model):
    """One decision of the association: who took it, on what, when and why. Never edited or deleted."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A dotted verb, such as "application.approve", "shop.suspend", "listing.send_back", "statement.pay".
    action = models.CharField(_("Decision"), max_length=64, db_index=True)
    # What it was about: a model label ("partner.partner") and the object's primary key, with a label
    # kept as it read then (the object may be renamed later).
    subject_type = models.CharField(max_length=64, db_index=True)
    subject_id = models.CharField(max_length=64, db_index=True)
    subject_label = models.CharField(_("About"), max_length=255)
    reason = models.TextField(_("Reason"), blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("When"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("Association decision")
        verbose_name_plural = _("Association decisions")
        permissions = [("use_workspace", _("Can use the association workspace"))]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.subject_label}"

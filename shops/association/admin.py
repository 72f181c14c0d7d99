from django.contrib import admin

from marketplace.admin_readonly import ReadOnlyModelAdmin
from shops.association.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    """Read-only: the log is written by the workspace's services and never edited."""

    list_display = ("created_at", "actor", "action", "subject_label")
    list_filter = ("action",)
    search_fields = ("subject_label", "reason")

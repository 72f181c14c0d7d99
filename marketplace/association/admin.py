from django.contrib import admin

from marketplace.association.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is written by the workspace's services and never edited."""

    list_display = ("created_at", "actor", "action", "subject_label")
    list_filter = ("action",)
    search_fields = ("subject_label", "reason")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin

from shops.models import ShopStatusEvent


@admin.register(ShopStatusEvent)
class ShopStatusEventAdmin(admin.ModelAdmin):
    """The audit trail of shop status moves: read-only."""

    list_display = ["shop", "from_status", "to_status", "actor", "created_at"]
    list_filter = ["to_status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin

from marketplace.admin_readonly import ReadOnlyModelAdmin
from shops.models import ShopStatusEvent


@admin.register(ShopStatusEvent)
class ShopStatusEventAdmin(ReadOnlyModelAdmin):
    """The audit trail of shop status moves: read-only."""

    list_display = ["shop", "from_status", "to_status", "actor", "created_at"]
    list_filter = ["to_status"]

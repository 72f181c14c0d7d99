from django.contrib import admin
from oscar.apps.partner.admin import *
from oscar.core.loading import get_model

from marketplace.admin_readonly import ReadOnlyModelAdmin

Partner = get_model("partner", "Partner")

admin.site.unregister(Partner)


@admin.register(Partner)
class ShopAdmin(admin.ModelAdmin):
    """Shops in Django's admin. Status is read-only here: it moves only through
    shops.services.shop_status_change, which records who and why."""

    list_display = [
        "name",
        "name_en",
        "code",
        "status",
        "listing_review_required",
        "county",
        "town",
        "village",
        "joined_on",
    ]
    list_filter = ["status", "listing_review_required", "county"]
    search_fields = ["name", "name_en", "code", "phone"]
    readonly_fields = ["status", "joined_on"]
    raw_id_fields = ["province", "city", "county", "town", "village"]
    filter_horizontal = ["users"]


StockRecord = get_model("partner", "StockRecord")
admin.site.unregister(StockRecord)


@admin.register(StockRecord)
class StockRecordViewAdmin(ReadOnlyModelAdmin, StockRecordAdmin):  # noqa: F405 (Oscar's admin)
    """Stock records, to look at only: stock moves through the race-safe paths (the farmer's console,
    checkout's allocation, cancellations), never through a form that writes ``num_in_stock`` around them."""

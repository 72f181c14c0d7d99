from django.contrib import admin

from marketplace.places.models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "code", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["name", "name_en", "code"]
    raw_id_fields = ["parent"]

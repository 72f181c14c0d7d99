from django.contrib import admin
from oscar.apps.catalogue.admin import *
from oscar.core.loading import get_model

from marketplace.catalogue.models import Certification


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en"]
    # A GI's registered areas: a town or county of the region tree (every city and county of China is loaded).
    autocomplete_fields = ["registered_regions"]


Product = get_model("catalogue", "Product")
admin.site.unregister(Product)


@admin.register(Product)
class ListingAdmin(ProductAdmin):  # noqa: F405 (Oscar's admin)
    """Products in the admin. A listing's review status moves only through the association's review
    (``shops.association.listing_review``) and the farmer's console, which record each move."""

    readonly_fields = ["listing_status"]

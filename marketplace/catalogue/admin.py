from django.contrib import admin
from oscar.apps.catalogue.admin import *

from marketplace.catalogue.models import Certification


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en"]
    # A GI's registered areas: a town or county of the region tree (every city and county of China is loaded).
    autocomplete_fields = ["registered_regions"]

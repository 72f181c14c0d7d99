from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrchardConfig(AppConfig):
    name = "shops.orchard"
    label = "orchard"
    verbose_name = _("Orchards")

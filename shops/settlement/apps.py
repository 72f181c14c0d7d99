from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementConfig(AppConfig):
    name = "shops.settlement"
    label = "settlement"
    verbose_name = _("Settlement")

    def ready(self) -> None:
        # Its counters on the association's overview (shops.association.waiting).
        import_module(f"{self.name}.waiting")

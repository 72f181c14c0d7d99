from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "shops.sales"
    label = "sales"
    verbose_name = _("Sales review")

    def ready(self) -> None:
        # Its counters on the association's overview (shops.association.waiting).
        import_module(f"{self.name}.waiting")

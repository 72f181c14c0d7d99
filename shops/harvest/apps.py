from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HarvestConfig(AppConfig):
    name = "shops.harvest"
    label = "harvest"
    verbose_name = _("Harvest and trace")

    def ready(self) -> None:
        # The trace page's kept parts follow what they show (receivers.py).
        import_module(f"{self.name}.receivers").connect()

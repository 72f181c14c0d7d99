from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StorefrontConfig(AppConfig):
    name = "marketplace.storefront"
    label = "storefront"
    verbose_name = _("Storefront")

    def ready(self) -> None:
        from marketplace.storefront import analytics, receivers

        receivers.connect()
        analytics.connect()

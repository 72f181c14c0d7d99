"""Oscar's class loader (``OSCAR_DYNAMIC_CLASS_LOADER``), with the classes this project replaces in apps it
does not fork. Oscar's modules ask for their collaborators by name (``get_class``); a fork of a whole app
(its models, migrations and all) is the usual way to replace one, and this is the lighter way for a class
that needs nothing else of its app.

- ``offer.applicator.Applicator``: asked only when the site has offers (marketplace.basket.offers).
"""

from typing import Any

from django.utils.module_loading import import_string
from oscar.core.loading import default_class_loader

REPLACED = {("offer.applicator", "Applicator"): "marketplace.basket.offers.Applicator"}


def class_loader(module_label: str, classnames: list[str], module_prefix: str) -> list[Any]:
    found = default_class_loader(module_label, classnames, module_prefix)
    return [
        import_string(REPLACED[(module_label, name)]) if (module_label, name) in REPLACED else cls
        for name, cls in zip(classnames, found, strict=True)
    ]

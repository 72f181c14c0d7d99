from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from marketplace.storefront.caching import catalogue_version, fragment_seconds


def storefront_cache(request: HttpRequest) -> dict:
    """What the storefront's ``{% cache %}`` tags key on; read only by pages that cache something."""
    return {
        "catalogue_version": SimpleLazyObject(catalogue_version),
        "storefront_cache_seconds": fragment_seconds(),
    }

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from marketplace.storefront.caching import catalogue_version


def storefront_cache(request: HttpRequest) -> dict:
    """What the storefront's ``{% storefront_cache %}`` blocks key on; read only by pages that cache
    something."""
    return {"catalogue_version": SimpleLazyObject(catalogue_version)}

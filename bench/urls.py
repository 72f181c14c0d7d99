"""The marketplace's URLs plus ``/bench/ceiling/``: the cheapest answer Django can give through the
same server, settings and middleware (no database, no template), which storefront pages are measured
against."""

from django.http import HttpResponse
from django.urls import path

from marketplace.urls import urlpatterns as marketplace_urlpatterns


def ceiling(request):
    return HttpResponse("ok")


urlpatterns = [path("bench/ceiling/", ceiling, name="bench-ceiling"), *marketplace_urlpatterns]

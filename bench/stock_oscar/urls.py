"""Oscar's URLs as its getting-started documentation includes them, Django's language switch (Oscar's
header posts to it when there is more than one language), and ``/bench/ceiling/``: the same bare view as
bench/urls.py adds to the marketplace, so each server's pages are measured against its own ceiling."""

from django.apps import apps
from django.http import HttpResponse
from django.urls import include, path


def ceiling(request):
    return HttpResponse("ok")


urlpatterns = [
    path("bench/ceiling/", ceiling, name="bench-ceiling"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include(apps.get_app_config("oscar").urls[0])),
]

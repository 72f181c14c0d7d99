"""The partner API's URLs, mounted at /api/logistics/."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from logistics.api.views import LegViewSet, api_not_found

app_name = "logistics_api"

router = SimpleRouter()
router.register("legs", LegViewSet, basename="leg")

# Anything else under the API is a JSON 404, not the storefront's HTML page (a mistyped id such as 1.5).
urlpatterns = [*router.urls, re_path(r"^.*$", api_not_found, name="not-found")]

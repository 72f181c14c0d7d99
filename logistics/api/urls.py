"""The partner API's URLs, mounted at /api/logistics/."""

from rest_framework.routers import SimpleRouter

from logistics.api.views import LegViewSet

app_name = "logistics_api"

router = SimpleRouter()
router.register("legs", LegViewSet, basename="leg")

urlpatterns = router.urls

from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("payments/", include("marketplace.payments.urls")),
    path("shop/", include("shops.console.urls")),
    path("logistics/", include("logistics.portal.urls")),
    path("association/", include("marketplace.association.urls")),
    path("api/logistics/", include("logistics.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("open-a-shop/", include("marketplace.association.admission_urls")),
    path("open-data/", include("marketplace.sales.urls")),
    path("", include("marketplace.storefront.urls")),
    path("", include(apps.get_app_config("oscar").urls[0])),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView

from marketplace import health
from marketplace.security import password_reset_view
from marketplace.storefront.views import FaviconView

urlpatterns = [
    # Liveness and readiness; answered first by marketplace.health.HealthProbeMiddleware.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The language switch in every page's header posts without a CSRF token: switching someone's language
    # is no harm worth one, and a token would set a CSRF cookie on public pages that shared caches keep
    # (``/open-data/`` is ``Cache-Control: public``).
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    # Every page names its icon; clients that ask for /favicon.ico anyway (feed readers, old browsers) are
    # sent to it rather than given a 404.
    path("favicon.ico", FaviconView.as_view()),
    # Oscar's reset, rate limited: each request mails a link to the address typed. Before Oscar's URLs,
    # which have their own at this path.
    path("password-reset/", password_reset_view(), name="password-reset"),
    # The storefront next: Django tries patterns in order and each include it leaves costs it an exception,
    # so the pages most requested are reached first (a product page's URL resolved in 34 µs, not 60). No
    # pattern of these two includes begins with a prefix of the includes below: the order changes no match.
    path("", include("marketplace.storefront.urls")),
    path("", include(apps.get_app_config("oscar").urls[0])),
    path("admin/", admin.site.urls),
    path("payments/", include("marketplace.payments.urls")),
    path("shop/", include("shops.console.urls")),
    path("logistics/", include("logistics.portal.urls")),
    path("association/", include("shops.association.urls")),
    path("api/logistics/", include("logistics.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("open-a-shop/", include("shops.association.admission_urls")),
    path("open-data/", include("shops.sales.urls")),
    path("t/", include("shops.harvest.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler500 = "marketplace.errors.server_error"

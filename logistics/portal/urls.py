"""The partner portal's URLs, mounted at /logistics/. Leg and webhook delivery ids are looked up within the
signed-in user's partner: another partner's is 404."""

from django.urls import path

from logistics.portal import views, webhook_views

app_name = "logistics_portal"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("switch/", views.PartnerSwitchView.as_view(), name="switch"),
    path("legs/<int:pk>/", views.LegView.as_view(), name="leg"),
    path("legs/<int:pk>/accept/", views.LegAcceptView.as_view(), name="leg-accept"),
    path("legs/<int:pk>/reject/", views.LegRejectView.as_view(), name="leg-reject"),
    path("legs/<int:pk>/events/", views.LegEventView.as_view(), name="leg-event"),
    path("webhooks/", webhook_views.WebhookDeliveryListView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/", webhook_views.WebhookDeliveryView.as_view(), name="webhook"),
    path(
        "webhooks/<int:pk>/replay/", webhook_views.WebhookDeliveryReplayView.as_view(), name="webhook-replay"
    ),
]

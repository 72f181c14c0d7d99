"""The partner portal's URLs, mounted at /logistics/. Leg ids are looked up within the signed-in user's
partner: another partner's leg is 404."""

from django.urls import path

from logistics.portal import views

app_name = "logistics_portal"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("switch/", views.PartnerSwitchView.as_view(), name="switch"),
    path("legs/<int:pk>/", views.LegView.as_view(), name="leg"),
    path("legs/<int:pk>/accept/", views.LegAcceptView.as_view(), name="leg-accept"),
    path("legs/<int:pk>/reject/", views.LegRejectView.as_view(), name="leg-reject"),
    path("legs/<int:pk>/events/", views.LegEventView.as_view(), name="leg-event"),
]

"""The association's workspace, mounted at /association/ (association staff only: every view derives
from ``AssociationAccessMixin``). Each part of the workspace adds its patterns here."""

from django.urls import path

from marketplace.association import views

app_name = "association"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("decisions/", views.AuditView.as_view(), name="audit"),
]

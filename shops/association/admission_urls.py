"""The public side of shop admission, mounted at /open-a-shop/: the application form and each
application's private status page (its token is the only key: no account needed)."""

from django.urls import path

from shops.association import admission_views

app_name = "admission"

urlpatterns = [
    path("", admission_views.ApplyView.as_view(), name="apply"),
    path("<str:token>/", admission_views.ApplicationStatusView.as_view(), name="status"),
]

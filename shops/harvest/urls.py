"""The public trace pages, mounted at /t/."""

from django.urls import path

from shops.harvest.views import TraceView

app_name = "harvest"

urlpatterns = [path("<str:code>/", TraceView.as_view(), name="trace")]

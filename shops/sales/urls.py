"""Open data, public at /open-data/: the page, and the same figures as JSON and CSV."""

from django.urls import path

from shops.sales import views

app_name = "open_data"

urlpatterns = [
    path("", views.OpenDataView.as_view(), name="index"),
    path("sales.json", views.open_data_json, name="json"),
    path("sales.csv", views.open_data_csv, name="csv"),
]

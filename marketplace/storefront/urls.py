from django.urls import path

from marketplace.catalogue.views import ListingReportView
from marketplace.storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("shops/", views.ShopListView.as_view(), name="shop-list"),
    path("shops/<slug:code>/", views.ShopDetailView.as_view(), name="shop"),
    path("places/", views.PlaceListView.as_view(), name="place-list"),
    path("places/<int:pk>/", views.PlaceDetailView.as_view(), name="place"),
    path("listings/<int:pk>/report/", ListingReportView.as_view(), name="listing-report"),
]

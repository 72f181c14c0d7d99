"""The association's workspace, mounted at /association/ (association staff only: every view derives
from ``AssociationAccessMixin``). Each part of the workspace adds its patterns here."""

from django.urls import include, path

from shops.association import admission_views as admission
from shops.association import listing_views, review_views, views
from shops.sales import views as sales_views

app_name = "association"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("decisions/", views.AuditView.as_view(), name="audit"),
    path("listings/", listing_views.ListingQueueView.as_view(), name="listings"),
    path("listings/<int:pk>/", listing_views.ListingDetailView.as_view(), name="listing"),
    path("listings/<int:pk>/approve/", listing_views.ListingApproveView.as_view(), name="listing-approve"),
    path(
        "listings/<int:pk>/send-back/", listing_views.ListingSendBackView.as_view(), name="listing-send-back"
    ),
    path(
        "listings/<int:pk>/dismiss/",
        listing_views.ListingReportsDismissView.as_view(),
        name="listing-dismiss",
    ),
    path("reviews/", review_views.ReviewQueueView.as_view(), name="reviews"),
    path("reviews/<int:pk>/publish/", review_views.ReviewPublishView.as_view(), name="review-publish"),
    path("reviews/<int:pk>/reject/", review_views.ReviewRejectView.as_view(), name="review-reject"),
    path("standards/", listing_views.StandardListView.as_view(), name="standards"),
    path("standards/<int:category_pk>/", listing_views.StandardEditView.as_view(), name="standard-edit"),
    path("applications/", admission.ApplicationListView.as_view(), name="applications"),
    path("applications/<int:pk>/", admission.ApplicationDetailView.as_view(), name="application"),
    path(
        "applications/<int:pk>/approve/",
        admission.ApplicationApproveView.as_view(),
        name="application-approve",
    ),
    path(
        "applications/<int:pk>/request-changes/",
        admission.ApplicationRequestChangesView.as_view(),
        name="application-request-changes",
    ),
    path(
        "applications/<int:pk>/reject/", admission.ApplicationRejectView.as_view(), name="application-reject"
    ),
    path(
        "applications/<int:pk>/photos/<int:photo_pk>/",
        admission.ApplicationPhotoView.as_view(),
        name="application-photo",
    ),
    path("shops/", admission.ShopListView.as_view(), name="shops"),
    path("shops/<int:pk>/", admission.ShopDetailView.as_view(), name="shop"),
    path("shops/<int:pk>/suspend/", admission.ShopSuspendView.as_view(), name="shop-suspend"),
    path("shops/<int:pk>/reinstate/", admission.ShopReinstateView.as_view(), name="shop-reinstate"),
    path(
        "shops/<int:pk>/review-required/",
        admission.ShopReviewRequiredView.as_view(),
        name="shop-review-required",
    ),
    path("", include("shops.settlement.urls")),  # statements and commission rules
    path("sales/", sales_views.SalesReviewView.as_view(), name="sales"),
    path("sales/chart.svg", sales_views.SalesChartView.as_view(), name="sales-chart"),
    path("sales/export/", sales_views.SalesExportView.as_view(), name="sales-export"),
    path("logistics/", sales_views.LogisticsPerformanceView.as_view(), name="logistics"),
]
